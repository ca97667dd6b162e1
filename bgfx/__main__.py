from bgfx.cli import main

raise SystemExit(main())
