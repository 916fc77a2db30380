import collections
from tests.hub.trust import test_schemathesis as m
from tests.hub.trust.test_schemathesis import *
def test_probe(app, admin):
    stats = collections.Counter()
    ops = list(m._operations(app))
    print(len(ops))
    for operation in ops:
        @m.EXAMPLES
        @given(case=m._cases(operation))
        def run(case):
            r = case.call(headers=admin.headers)
            stats[(operation.label, r.status_code)] += 1
        run()
    for k, v in sorted(stats.items()): print(k, v)
