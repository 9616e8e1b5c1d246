#!/usr/bin/env python3
"""Rewrites call sites to the call-site rules (named required fields, `_with` forms) from rustc's
JSON diagnostics (E0061). One step of call_sites.sh, which runs it to a fixed point.
usage: migrate.py diagnostics.json  (cargo check --message-format json output)"""
import json, re, sys, os, glob, collections

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
# The generated bindings: `cargo run -p cdk-from-rust-codegen -- --emit-all DIR` (call_sites.sh).
GEN = os.environ['CDK_FROM_RUST_GENERATED']
required = {}  # struct name -> [fields]
for f in glob.glob(GEN + '/**/*.rs', recursive=True):
    src = open(f).read()
    for m in re.finditer(r'pub struct (\w+)Required<[^>]*> \{\n((?:    .*\n)*?)\}', src):
        fields = re.findall(r'^    pub ([\w#]+): T\d+,$', m.group(2), re.M)
        required[m.group(1)] = fields

def count_params(sig):
    depth = 0; n = 1 if sig.strip() else 0
    for c in sig:
        if c in '<([': depth += 1
        elif c in '>)]': depth -= 1
        elif c == ',' and depth == 0: n += 1
    return n

arity = collections.defaultdict(set)  # fn name -> set of arities (without &self)
for f in glob.glob(GEN + '/**/*.rs', recursive=True):
    for m in re.finditer(r'^    pub fn (\w+)\((.*)\)(?: -> .*)? \{$', open(f).read(), re.M):
        sig = m.group(2)
        if sig.startswith('&self'):
            sig = sig[5:].lstrip(', ')
        arity[m.group(1)].add(count_params(sig.replace('->', '')))

def with_name(base, nargs, m=None):
    """the `_with` form of `base` taking nargs arguments, m of them optional"""
    if m == 1 and nargs in arity.get(base + '_with', ()):
        return base + '_with'
    if m is not None and m > 1:
        cands = [n for n in arity if n.startswith(base + '_with_') and nargs in arity[n]]
        return cands[0] if len(cands) == 1 else None
    cands = [n for n in arity if (n == base + '_with' or n.startswith(base + '_with_')) and nargs in arity[n]]
    return cands[0] if len(cands) == 1 else None

def split_args(s, i):
    """s[i] == '('; returns (end index of ')', [(start,end) of each arg])"""
    assert s[i] == '(', s[i:i+20]
    depth = 0; j = i; args = []; start = i + 1
    while True:
        c = s[j]
        if c == '"':
            j += 1
            while s[j] != '"':
                if s[j] == '\\': j += 1
                j += 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", s[j:j+4]):
            j = s.index("'", j + 2 if s[j+1] != '\\' else j + 3)
        elif c == '/' and s[j+1] == '/':
            j = s.index('\n', j)
            continue
        elif c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
            if depth == 0:
                if s[start:j].strip():
                    args.append((start, j))
                return j, args
        elif c == ',' and depth == 1:
            args.append((start, j)); start = j + 1
        j += 1

def strip_into(e):
    e = e.strip().rstrip(',').strip()
    if e.endswith('.into()'):
        return e[:-7]
    return e

edits = collections.defaultdict(list)  # file -> [(start, end, text)]
manual = []
seen = set()
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except Exception:
        continue
    if d.get('reason') != 'compiler-message':
        continue
    msg = d['message']
    if not msg.get('code') or msg['code']['code'] != 'E0061':
        continue
    sp = [x for x in msg['spans'] if x['is_primary']][0]
    fname = sp['file_name']
    if not fname.startswith('/'):
        fname = os.path.join(ROOT, fname)
    key = (fname, sp['byte_start'])
    if key in seen:
        continue
    seen.add(key)
    s = open(fname, encoding='utf-8').read()
    bs = s.encode('utf-8')
    start = len(bs[:sp['byte_start']].decode('utf-8'))
    end = len(bs[:sp['byte_end']].decode('utf-8'))
    callee = s[start:end]
    # find the '(' after the callee (skip turbofish/whitespace)
    k = end
    while s[k] != '(':
        k += 1
    close, args = split_args(s, k)
    texts = [s[a:b] for a, b in args]
    lineno = s.count('\n', 0, start) + 1
    m = re.search(r'(\w+)::new$', callee)
    if m and m.group(1) in required:
        name = m.group(1)
        fields = required[name]
        if len(texts) != len(fields):
            manual.append(f'{fname}:{lineno}: {callee} args {len(texts)} != fields {fields}')
            continue
        prefix = callee[:-len('::new')]
        rname = prefix + 'Required'
        def fld(f, t):
            e = strip_into(t)
            return f if e == f else f'{f}: {e}'
        body = ', '.join(fld(f, t) for f, t in zip(fields, texts))
        multiline = '\n' in s[k:close]
        if multiline:
            ind = re.match(r'\s*', s[s.rfind('\n', 0, start)+1:]).group(0)
            inner = ''.join(f'{ind}        {fld(f, t)},\n' for f, t in zip(fields, texts))
            new = f'({rname} {{\n{inner}{ind}    }})'
        else:
            new = f'({rname} {{ {body} }})'
        edits[fname].append((key, k, close + 1, new))
        continue
    # optional tail: trailing None -> drop; trailing Some(x) -> _with, x
    n = len(texts)
    stripped = [t.strip() for t in texts]
    i = n
    while i > 0 and (stripped[i-1] == 'None' or stripped[i-1].startswith('Some(') and stripped[i-1].endswith(')')):
        i -= 1
    tail = stripped[i:]
    if not tail and re.search(r'_with(_\w+)?$', callee):
        last = re.split(r'::|\.', callee)[-1]
        wn = with_name(re.sub(r'_with(_\w+)?$', '', last), n)
        if wn:
            edits[fname].append((key, start, end, callee[:len(callee)-len(last)] + wn))
            continue
    if not tail:
        manual.append(f'{fname}:{lineno}: {callee}: no None/Some tail: {stripped}')
        continue
    if all(t == 'None' for t in tail):
        if i == 0:
            edits[fname].append((key, k + 1, close, ''))
        else:
            edits[fname].append((key, args[i-1][1], args[n-1][1], ''))
        continue
    last_some = i + max(j for j, t in enumerate(tail) if t != 'None')
    if any(t == 'None' for t in stripped[i:last_some]):
        manual.append(f'{fname}:{lineno}: {callee}: None before Some: {tail}')
        continue
    last = re.split(r'::|\.', callee)[-1]
    base = last[2:] if last.startswith('r#') else last
    base = re.sub(r'_with(_\w+)?$', '', base)
    wn = with_name(base, last_some + 1, last_some + 1 - i)
    if wn is None:
        manual.append(f'{fname}:{lineno}: {callee}: no unique _with form of {base} with {last_some + 1} args')
        continue
    new_callee = callee[:len(callee)-len(last)] + wn
    edits[fname].append((key, start, end, new_callee))
    for j in range(i, last_some + 1):
        a0, b0 = args[j]
        t = s[a0:b0]
        lead = re.match(r'\s*', t).group(0)
        edits[fname].append((key, a0, b0, lead + strip_into(t.strip()[5:-1])))
    if last_some + 1 < n:
        edits[fname].append((key, args[last_some][1], args[n-1][1], ''))

for f, es in edits.items():
    s = open(f, encoding='utf-8').read()
    groups = collections.defaultdict(list)
    for key, a, b, t in es:
        groups[key].append((a, b, t))
    # keep whole calls only: a call whose edits overlap an already kept call waits for a rerun
    kept = []
    for key in sorted(groups, key=lambda k: -max(b for a, b, t in groups[k])):
        g = groups[key]
        if any(not (b <= x or a >= y) for a, b, t in g for x, y, _ in kept):
            manual.append(f'{f}: call at byte {key[1]} overlaps another; rerun')
            continue
        kept.extend(g)
    for a, b, t in sorted(kept, key=lambda e: e[0], reverse=True):
        s = s[:a] + t + s[b:]
    open(f, 'w', encoding='utf-8').write(s)
    print('edited', f, len(es))
for m in manual:
    print('MANUAL', m)
