"""The database layer: schema, migrations, engines and every SQL statement of etl_worker."""
