import sys

from tests.cluster.run import main

sys.exit(main())
