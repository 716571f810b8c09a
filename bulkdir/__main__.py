from bulkdir.cli import main

main()
