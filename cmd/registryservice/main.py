from rpc_cluster.registry.service import main

raise SystemExit(main())
