from smsdesk.cli import main

main()
