from portal.service import main

raise SystemExit(main())
