from rpc_cluster.grading.service import main

raise SystemExit(main())
