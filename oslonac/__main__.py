from oslonac.cli import main

main()
