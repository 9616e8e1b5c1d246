#!/usr/bin/env python3
"""Second step of call_sites.sh: inside calls of generated `_with` forms, `Some(x)` arguments left
by a nested rewrite become `x` (and `x.into()` becomes `x`). usage: fixsome.py FILE.rs...
Caution: it also rewrites calls of the project's own functions whose names end in `_with`."""
import os, re, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.argv = sys.argv[:1] + ['-'] + sys.argv[1:]
exec(open(os.path.join(HERE, 'migrate.py')).read().split('edits = collections.defaultdict(list)')[0])
for f in sys.argv[2:]:
    s = open(f).read()
    out = []
    for m in re.finditer(r'_with(_\w+)?\(', s):
        close, args = split_args(s, m.end() - 1)
        for a, b in args:
            t = s[a:b]
            st = t.strip()
            if st.startswith('Some(') and st.endswith(')'):
                lead = re.match(r'\s*', t).group(0)
                out.append((a, b, lead + strip_into(st[5:-1])))
    kept = []
    for a, b, t in sorted(out, reverse=True):
        if any(not (b <= x or a >= y) for x, y in kept):
            continue
        s = s[:a] + t + s[b:]
        kept.append((a, b))
    open(f, 'w').write(s)
