from rpc_cluster.logs.service import main

raise SystemExit(main())
