#!/usr/bin/python3
"""Crafts a hostile release tree for the tests of cybil-verify and
cybil-pull: a signed latest.json naming release SERIAL, whose archive is
built by Python's tarfile from the members given, each signed with
minisign itself, so that only the archive's content is wrong.

  craft.py SECKEY TREE SERIAL KIND

KIND: traversal (a member ../evil), absolute (/etc/evil), nonascii
(a name with é), symlink (a symbolic link member), extra (an unexpected
sixth member), missing (no tombstones.jsonl), badline (a records.jsonl
line that is not JSON), unsorted (ids out of order).
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time

seckey, tree, serial, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
now = int(time.time())
ID1, ID2 = 'a' * 32, 'b' * 32


def line(rid):
    return json.dumps({'basis': 'public-source', 'captured_at': None,
                       'content_sha256': '0' * 64, 'fields': {}, 'id': rid,
                       'kind': 'news', 'source': 's', 'source_url': None,
                       'title': 't', 'url': None},
                      sort_keys=True, separators=(',', ':')) + '\n'


records = line(ID1) + line(ID2)
if kind == 'badline':
    records = line(ID1) + '{not json\n'
if kind == 'unsorted':
    records = line(ID2) + line(ID1)
members = {
    'records.jsonl': records.encode(),
    'records.csv': b'id\r\n',
    'changes.jsonl': b'',
    'tombstones.jsonl': b'',
}
if kind == 'missing':
    del members['tombstones.jsonl']


def resource(name):
    data = members.get(name, b'')
    return {'name': name.split('.')[0], 'path': name, 'format': 'jsonl',
            'mediatype': 'application/x-ndjson', 'bytes': len(data),
            'hash': 'sha256:' + hashlib.sha256(data).hexdigest()}


pkg = {'profile': 'data-package', 'name': 'x', 'resources':
       [resource(n) for n in sorted(members)],
       'cybil': {'serial': serial, 'previous': None}}
members['datapackage.json'] = json.dumps(pkg, sort_keys=True).encode()
extra = {
    'traversal': '../evil',
    'absolute': '/etc/evil',
    'nonascii': 'caf\u00e9.txt',
    'extra': 'notes.txt',
}
rel = os.path.join(tree, 'releases', '%06d' % serial)
os.makedirs(rel, exist_ok=True)
archive = 'cybil-%06d.tar.zst' % serial
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
    for name in sorted(members):
        info = tarfile.TarInfo(name)
        info.size = len(members[name])
        tar.addfile(info, io.BytesIO(members[name]))
    if kind in extra:
        info = tarfile.TarInfo(extra[kind])
        info.size = 4
        tar.addfile(info, io.BytesIO(b'evil'))
    if kind == 'symlink':
        info = tarfile.TarInfo('link')
        info.type = tarfile.SYMTYPE
        info.linkname = '/etc/passwd'
        tar.addfile(info)
zst = subprocess.run(['zstd', '-q', '-c'], input=buf.getvalue(),
                     stdout=subprocess.PIPE, check=True).stdout
with open(os.path.join(rel, archive), 'wb') as f:
    f.write(zst)


def sign(path, name):
    comment = 'timestamp:%d\tfile:%s\tserial:%06d' % (now, name, serial)
    subprocess.run(['minisign', '-S', '-q', '-s', seckey, '-m', path,
                    '-t', comment], check=True, stdin=subprocess.DEVNULL)


sums = '%s  %s\n' % (hashlib.sha256(zst).hexdigest(), archive)
with open(os.path.join(rel, 'SHA256SUMS'), 'w') as f:
    f.write(sums)
sign(os.path.join(rel, 'SHA256SUMS'), 'SHA256SUMS')
iso = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))
exp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now + 86400))
pointer = {'spec': 1, 'serial': serial, 'created': iso, 'expires': exp,
           'release': {'path': 'releases/%06d/SHA256SUMS' % serial,
                       'sha256': hashlib.sha256(sums.encode()).hexdigest(),
                       'bytes': len(sums)},
           'kept': [serial], 'revoked': [], 'audit_head': '0' * 64}
with open(os.path.join(tree, 'latest.json'), 'w') as f:
    f.write(json.dumps(pointer, sort_keys=True, separators=(',', ':')) + '\n')
sign(os.path.join(tree, 'latest.json'), 'latest.json')
