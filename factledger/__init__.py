"""The application: settings, the write and read services over the event store,
API keys, the seeds loader and the `factledger` command line."""
