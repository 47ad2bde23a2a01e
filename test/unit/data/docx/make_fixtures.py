#!/usr/bin/env python3
"""Writes the ZIP files test/unit/cv_file_test.cpp checks CvFileCheck's DOCX rule against.

Real DOCX layouts as writers produce them (stored, deflated, with data descriptors, ZIP64,
a large extra field) and hostile look-alikes (the entry name only in data, an extra field or
a comment; a truncated header; a 17-byte name that differs; garbage after PK\\3\\4).
Deterministic: run it again and the files do not change. Small: the test feeds every file at
every split point.
"""
import io
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WHEN = (2024, 1, 2, 3, 4, 6)
CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                 b'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                 b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships"><Relationship Id="rId1" Target="word/document.xml"/></Relationships>')
DOCUMENT = (b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Ada Lovelace, analyst</w:t></w:r></w:p>'
            b'</w:body></w:document>')


class Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it then writes data descriptors (flag bit 3)."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += b
        return len(b)


def info(name, method, extra=b''):
    zi = zipfile.ZipInfo(name, WHEN)
    zi.compress_type = method
    zi.extra = extra
    zi.external_attr = 0o644 << 16
    return zi


def archive(entries, method=zipfile.ZIP_DEFLATED, comment=b'', stream=None, zip64=False):
    out = stream if stream is not None else io.BytesIO()
    with zipfile.ZipFile(out, 'w') as z:
        for entry in entries:
            name, data = entry[0], entry[1]
            extra = entry[2] if len(entry) > 2 else b''
            zi = info(name, method, extra)
            if zip64:
                with z.open(zi, 'w', force_zip64=True) as f:
                    f.write(data)
            else:
                z.writestr(zi, data)
        z.comment = comment
    return bytes(out.data if stream is not None else out.getvalue())


def docx_entries():
    return [('[Content_Types].xml', CONTENT_TYPES), ('_rels/.rels', RELS), ('word/document.xml', DOCUMENT)]


def fake_local_header(name):
    return struct.pack('<4sHHHHHIIIHH', b'PK\x03\x04', 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name


def fake_central_header(name):
    return struct.pack('<4sHHHHHHIIIHHHHHII', b'PK\x01\x02', 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0,
                       0, 0, 0, 0) + name


def main():
    files = {}
    # Accepted: what real writers produce.
    files['stored.docx'] = archive(docx_entries(), zipfile.ZIP_STORED)
    files['deflated.docx'] = archive(docx_entries(), zipfile.ZIP_DEFLATED)
    files['data_descriptor.docx'] = archive(docx_entries(), zipfile.ZIP_DEFLATED, stream=Unseekable())
    files['zip64.docx'] = archive(docx_entries(), zipfile.ZIP_DEFLATED, zip64=True)
    big_extra = struct.pack('<HH', 0xcafe, 1200) + b'PK\x03\x04word/document.xml'.ljust(1200, b'\0')
    files['large_extra.docx'] = archive([('[Content_Types].xml', CONTENT_TYPES, big_extra),
                                         ('word/document.xml', DOCUMENT, big_extra)], zipfile.ZIP_STORED)
    # Only the central directory names it: the local header's name was changed.
    only_central = bytearray(archive(docx_entries(), zipfile.ZIP_STORED))
    at = only_central.index(b'word/document.xml')
    only_central[at:at + 17] = b'word/document.xmX'
    files['central_only.docx'] = bytes(only_central)

    # Refused: the name is there, but not as a structurally valid entry.
    trap = fake_local_header(b'word/document.xml') + fake_central_header(b'word/document.xml')
    files['name_in_data.docx'] = archive([('[Content_Types].xml', CONTENT_TYPES), ('notes.txt', trap)],
                                         zipfile.ZIP_STORED)
    files['name_in_extra.docx'] = archive([('notes.txt', b'hello', struct.pack('<HH', 0xcafe, 64) +
                                            trap[:64])], zipfile.ZIP_STORED)
    files['name_in_comment.docx'] = archive([('notes.txt', b'hello')], zipfile.ZIP_STORED, comment=trap)
    files['name_in_data_descriptor_entry.docx'] = archive([('notes.txt', b'word/document.xml' * 4)],
                                                          zipfile.ZIP_STORED, stream=Unseekable())
    whole = archive([('word/document.xml', DOCUMENT)], zipfile.ZIP_STORED)
    files['truncated_header.docx'] = whole[:30 + 10]
    files['truncated_fixed_part.docx'] = whole[:20]
    files['similar_name.docx'] = archive([('word/document.xmL', DOCUMENT), ('Word/document.xml', DOCUMENT),
                                          ('word/document.xml.bak', DOCUMENT)], zipfile.ZIP_STORED)
    files['garbage_after_magic.docx'] = (b'PK\x03\x04' + bytes(range(7, 33)) + b'word/document.xml' +
                                         b'\xff' * 40 + b'word/document.xml')
    files['bzip2_method.docx'] = archive(docx_entries(), zipfile.ZIP_BZIP2)

    for name, data in files.items():
        with open(os.path.join(HERE, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
