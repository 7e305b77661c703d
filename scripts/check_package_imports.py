#!/usr/bin/env python3
"""Checks that Package.swift tells the truth: every module a target's files import (at the top
level of a file) is among its declared dependencies, and every declared dependency is imported
by some file of the target. Run by `make lint`; prints each mismatch and exits 1 if any."""
import glob, re, sys

problems = []
pkg=open('Package.swift').read()
starts=[m.start() for m in re.finditer(r'\n\s*\.(target|executableTarget|testTarget|systemLibrary)\(', pkg)]
starts.append(len(pkg))
targets={}
for a,b in zip(starts,starts[1:]):
    body=pkg[a:b]
    kind=re.search(r'\.(target|executableTarget|testTarget|systemLibrary)\(',body).group(1)
    name=re.search(r'name:\s*"([^"]+)"',body).group(1)
    if kind=='systemLibrary': targets[name]=None; continue
    db=body.split('dependencies:')[1] if 'dependencies:' in body else ''
    db=re.split(r'\n\s*(path|swiftSettings|exclude|resources|plugins):',db)[0]
    prods=set(re.findall(r'\.product\(name:\s*"([^"]+)"', db))
    plain=set(re.findall(r'(?<!name: )"([^"]+)"', re.sub(r'\.product\([^)]*\)','',db)))
    path=re.search(r'path:\s*"([^"]+)"', body)
    path=path.group(1) if path else ('Tests/'+name if kind=='testTarget' else 'Sources/'+name)
    targets[name]=(path,plain,prods)
sysmods={'Foundation','Synchronization','Testing','Dispatch','Glibc','XCTest','_Concurrency','Darwin','FoundationNetworking','FoundationEssentials'}
for name,v in targets.items():
    if v is None: continue
    path,plain,prods=v
    imports=set()
    for f in glob.glob(path+'/**/*.swift',recursive=True):
        in_string = False  # inside a multi-line string literal (a script a test runs, say)
        for line in open(f):
            if line.count('"""') % 2 == 1:
                in_string = not in_string
                continue
            if in_string:
                continue
            m=re.match(r'\s*(?:@[\w()]+\s+)*(?:public |internal |package |private |fileprivate )?import (?:struct |class |enum |func |protocol )?(\w+)\s*$',line)
            if m: imports.add(m.group(1))
    imports-=sysmods
    declared=plain|prods
    missing=imports-declared
    unused=set(n for n in declared if n not in imports and not n.startswith('fedattn-'))
    for module in sorted(missing):
        problems.append(f"{name} imports {module} without declaring it in Package.swift")
    for module in sorted(unused):
        problems.append(f"{name} declares {module} in Package.swift but no file of it imports it")
for line in problems: print(line)
sys.exit(1 if problems else 0)
