"""The RDS Data API's SQL and type layer, shared by the MySQL and PostgreSQL clusters.

`sql` turns a Data API statement (`:name` parameters, `Field` values, type hints) into what
PyMySQL and psycopg execute; `fields` turns what they return into `Field`s, `ColumnMetadata`
and the `formatRecordsAs: JSON` string. Neither talks HTTP nor owns a connection.
"""
