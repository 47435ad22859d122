from backend.evidence.cli import main

raise SystemExit(main())
