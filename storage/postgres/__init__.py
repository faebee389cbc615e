"""The PostgreSQL backend: many processes on many hosts sharing one database."""
