#!/usr/bin/env python3
"""generate.py - the C client of storage/hbase/hbase.thrift, fixed.

    generate.py THRIFT IDL OUTDIR

Runs `THRIFT --gen c_glib` on IDL into a scratch directory and writes the
four generated files (hbase_hbase.[ch], hbase_hbase_types.[ch]) into
OUTDIR after mending two defects of thrift 0.17's c_glib generator that
no caller can work around:

1. Every generated struct's *_finalize() frees its fields but never chains
   up to its parent class's finalize, so each struct object leaks its
   GObject bookkeeping (48 bytes a struct, several per call).  Each such
   function gets the chain-up appended, through its own type's parent (not
   the instance's class, which would recurse in a subclass).

2. Maps whose keys are `binary` (HBase's Text: TRowResult.columns, the
   attributes of every call, getColumnDescriptors' result) are made with
   g_str_hash/g_str_equal on GByteArray pointers: the keys are hashed and
   compared as the bytes of the GByteArray struct read as a C string, so
   two columns of one row may compare equal and one of them is silently
   dropped while the reply is read.  They get hash and equality by content
   (hbase_bytes.h) instead.  The IDL has no map with `string` keys; the
   script refuses to run if the generator ever makes one, rather than
   guess.

3. Every generated struct's *_get_type() registers its type on first use
   with an unguarded `static GType type = 0; if (type == 0) ...`: two
   threads making their first call at once both register it, and the
   second gets G_TYPE_INVALID.  The script appends hbase_register_types(),
   which calls every *_get_type() of the types header; the client calls it
   once (g_once) before any object is made.

Only the Python standard library is used; nothing generated is committed.
"""

import os
import re
import subprocess
import sys
import tempfile

OUTPUTS = ("hbase_hbase.c", "hbase_hbase.h", "hbase_hbase_types.c",
           "hbase_hbase_types.h")

FINALIZE = re.compile(
    r"^(static void\s*\n(hbase_[a-z0-9_]+)_finalize \(GObject \*object\)\n"
    r"\{\n)(.*?)^\}\n", re.MULTILINE | re.DOTALL)

BINARY_KEYED = "g_hash_table_new_full (g_str_hash, g_str_equal, " \
               "thrift_string_free,"
BYTES_KEYED = "g_hash_table_new_full (hbase_bytes_hash, hbase_bytes_equal, " \
              "thrift_string_free,"


def chain_up(match):
    head, name, body = match.group(1), match.group(2), match.group(3)
    return (head + body +
            "\n  /* Added by storage/hbase/generate.py: the generator does "
            "not chain up. */\n"
            "  G_OBJECT_CLASS (g_type_class_peek_parent (g_type_class_peek "
            "(%s_get_type ())))->finalize (object);\n}\n" % name)


def fix_types_source(text):
    text, count = FINALIZE.subn(chain_up, text)
    if count == 0:
        raise SystemExit("generate.py: no *_finalize functions found: has "
                         "the generator changed?")
    if "g_str_hash" in text.replace(BINARY_KEYED, ""):
        raise SystemExit("generate.py: a map the script does not know "
                         "(g_str_hash with other key types)")
    text = text.replace(BINARY_KEYED, BYTES_KEYED)
    include = '#include "hbase_hbase_types.h"\n'
    if include not in text:
        raise SystemExit("generate.py: hbase_hbase_types.c does not include "
                         "its header")
    return text.replace(include, include + '#include "hbase_bytes.h"\n', 1)


GET_TYPE = re.compile(r"^GType (hbase_[a-z0-9_]+_get_type) \(void\);$",
                      re.MULTILINE)
REGISTER = "void hbase_register_types (void);\n"


def add_registration(types_header, types_source):
    """hbase_register_types(): every struct type registered at once."""
    names = GET_TYPE.findall(types_header)
    if not names:
        raise SystemExit("generate.py: no *_get_type in the types header")
    guard = types_header.rindex("#endif")
    header = (types_header[:guard] +
              "/* Added by storage/hbase/generate.py: registers every type "
              "above;\n * call it once (one thread) before the types are "
              "used. */\n" + REGISTER + "\n" + types_header[guard:])
    source = types_source + (
        "\n/* Added by storage/hbase/generate.py (see its header). */\n"
        "void\nhbase_register_types (void)\n{\n" +
        "".join("  (void) %s ();\n" % name for name in names) + "}\n")
    return header, source


def main(argv):
    if len(argv) != 4:
        raise SystemExit("usage: generate.py THRIFT IDL OUTDIR")
    thrift, idl, outdir = argv[1:]
    with tempfile.TemporaryDirectory(prefix="hbase-gen-") as scratch:
        subprocess.run([thrift, "--gen", "c_glib", "-out", scratch, idl],
                       check=True)
        texts = {}
        for name in OUTPUTS:
            with open(os.path.join(scratch, name)) as f:
                texts[name] = f.read()
        texts["hbase_hbase_types.h"], texts["hbase_hbase_types.c"] = \
            add_registration(texts["hbase_hbase_types.h"],
                             texts["hbase_hbase_types.c"])
        for name in OUTPUTS:
            text = texts[name]
            if name == "hbase_hbase_types.c":
                text = fix_types_source(text)
            if name == "hbase_hbase.c" and \
                    text.count("g_str_hash") != 1:  # the processor's map
                raise SystemExit("generate.py: hbase_hbase.c has maps the "
                                 "script does not know")
            temporary = os.path.join(outdir, name + ".tmp")
            with open(temporary, "w") as f:
                f.write(text)
            os.replace(temporary, os.path.join(outdir, name))


if __name__ == "__main__":
    main(sys.argv)
