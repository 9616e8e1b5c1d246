#!/usr/bin/env python3
"""Third step of call_sites.sh: imports `XRequired` next to `X` in `use cdk_from_rust::..` lines.
usage: imports.py FILE.rs..."""
import re, sys
# add `XRequired` next to `X` in the file's `use cdk_from_rust::...` imports, for every XRequired used
for f in sys.argv[1:]:
    s = open(f).read()
    used = sorted(set(re.findall(r'\b(\w+)Required \{', s)))
    changed = False
    for name in used:
        r = name + 'Required'
        if re.search(r'^\s*use [^;]*\b' + r + r'\b', s, re.M):
            continue
        # find a use statement importing `name`
        m = None
        for u in re.finditer(r'use cdk_from_rust::[^;]*;', s):
            if re.search(r'(?<![\w:])' + name + r'\b(?!::)', u.group(0)):
                m = u; break
        if not m:
            print('NO IMPORT', f, name); continue
        u = m.group(0)
        u2 = re.sub(r'(?<![\w:])' + name + r'\b(?!::)', name + ', ' + r, u, count=1)
        if '{' not in u:
            # use a::b::Name;  -> use a::b::{Name, NameRequired};
            u2 = re.sub(r'::(' + name + '), ' + r + ';$', r'::{\1, ' + r + '};', u2)
        s = s[:m.start()] + u2 + s[m.end():]
        changed = True
    if changed:
        open(f, 'w').write(s)
