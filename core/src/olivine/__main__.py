from olivine.cli import main

main()
