from etl_worker.cli import main

main()
