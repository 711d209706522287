"""The HBase Thrift stand-in (contrib/hbase-standin) answers as HBase does.

Tests taking hbase_client run against the session's server: the stand-in,
or a real HBase Thrift server with CRASHFS_TEST_HBASE=host:port (they then
hold for HBase itself: where HBase 1.x and 2.x differ, they accept both).
Tests taking hbase_standin check what only the stand-in has: persistence
across kill -9, its journal, its failure injection, its refusals.
"""

import os
import struct
import subprocess
import threading
import time

import pytest
from thrift.Thrift import TApplicationException, TType
from thrift.transport.TTransport import TTransportException

import hbase_server

pytestmark = pytest.mark.no_daemon


def long_bytes(value):
    return struct.pack(">q", value)


def error_of(call, *args):
    """The exception a call raises (it must raise)."""
    with pytest.raises(Exception) as caught:
        call(*args)
    return caught.value


def later_cell(client, table, row, column, after):
    """Puts row/column until the cell's timestamp is past `after` (ms);
    returns that timestamp."""
    deadline = time.monotonic() + 30
    while True:
        client.put(table, row, {column: b"tick"})
        timestamp = client.cells(table, row, [column])[column].timestamp
        if timestamp > after:
            return timestamp
        assert time.monotonic() < deadline, "the server clock does not move"


# -- the IDL -----------------------------------------------------------------

# Transcribed from HBase's Hbase.thrift (hbase-thrift,
# org/apache/hadoop/hbase/thrift/Hbase.thrift): what goes on the wire.
HBASE_STRUCTS = {
    "TCell": "1:binary value, 2:i64 timestamp",
    "ColumnDescriptor": "1:binary name, 2:i32 maxVersions, 3:string "
    "compression, 4:bool inMemory, 5:string bloomFilterType, 6:i32 "
    "bloomFilterVectorSize, 7:i32 bloomFilterNbHashes, 8:bool "
    "blockCacheEnabled, 9:i32 timeToLive",
    "Mutation": "1:bool isDelete, 2:binary column, 3:binary value, "
    "4:bool writeToWAL",
    "BatchMutation": "1:binary row, 2:list<Mutation> mutations",
    "TColumn": "1:binary columnName, 2:TCell cell",
    "TRowResult": "1:binary row, 2:map<binary,TCell> columns, "
    "3:list<TColumn> sortedColumns",
    "TScan": "1:binary startRow, 2:binary stopRow, 3:i64 timestamp, "
    "4:list<binary> columns, 5:i32 caching, 6:binary filterString, "
    "7:i32 batchSize, 8:bool sortColumns, 9:bool reversed, "
    "10:bool cacheBlocks",
    "IOError": "1:string message, 2:bool canRetry",
    "IllegalArgument": "1:string message",
    "AlreadyExists": "1:string message",
}
HBASE_DEFAULTS = {
    "ColumnDescriptor": {"maxVersions": 3, "compression": "NONE",
                         "inMemory": False, "bloomFilterType": "NONE",
                         "bloomFilterVectorSize": 0, "bloomFilterNbHashes": 0,
                         "blockCacheEnabled": False,
                         "timeToLive": 0x7fffffff},
    "Mutation": {"isDelete": False, "writeToWAL": True},
}
ATTRIBUTES = "map<binary,binary> attributes"
IO = "1:IOError io"
IO_IA = "1:IOError io, 2:IllegalArgument ia"
HBASE_METHODS = {
    "enableTable": ("void", "1:binary tableName", IO),
    "disableTable": ("void", "1:binary tableName", IO),
    "isTableEnabled": ("bool", "1:binary tableName", IO),
    "getTableNames": ("list<binary>", "", IO),
    "getColumnDescriptors": ("map<binary,ColumnDescriptor>",
                             "1:binary tableName", IO),
    "createTable": ("void", "1:binary tableName, "
                    "2:list<ColumnDescriptor> columnFamilies",
                    IO_IA + ", 3:AlreadyExists exist"),
    "deleteTable": ("void", "1:binary tableName", IO),
    "get": ("list<TCell>", "1:binary tableName, 2:binary row, "
            "3:binary column, 4:" + ATTRIBUTES, IO),
    "getVer": ("list<TCell>", "1:binary tableName, 2:binary row, "
               "3:binary column, 4:i32 numVersions, 5:" + ATTRIBUTES, IO),
    "getRow": ("list<TRowResult>", "1:binary tableName, 2:binary row, 3:"
               + ATTRIBUTES, IO),
    "getRowWithColumns": ("list<TRowResult>", "1:binary tableName, "
                          "2:binary row, 3:list<binary> columns, 4:"
                          + ATTRIBUTES, IO),
    "getRows": ("list<TRowResult>", "1:binary tableName, "
                "2:list<binary> rows, 3:" + ATTRIBUTES, IO),
    "getRowsWithColumns": ("list<TRowResult>", "1:binary tableName, "
                           "2:list<binary> rows, 3:list<binary> columns, 4:"
                           + ATTRIBUTES, IO),
    "mutateRow": ("void", "1:binary tableName, 2:binary row, "
                  "3:list<Mutation> mutations, 4:" + ATTRIBUTES, IO_IA),
    "mutateRows": ("void", "1:binary tableName, "
                   "2:list<BatchMutation> rowBatches, 3:" + ATTRIBUTES,
                   IO_IA),
    "atomicIncrement": ("i64", "1:binary tableName, 2:binary row, "
                        "3:binary column, 4:i64 value", IO_IA),
    "deleteAll": ("void", "1:binary tableName, 2:binary row, "
                  "3:binary column, 4:" + ATTRIBUTES, IO),
    "deleteAllRow": ("void", "1:binary tableName, 2:binary row, 3:"
                     + ATTRIBUTES, IO),
    "scannerOpenWithScan": ("i32", "1:binary tableName, 2:TScan scan, 3:"
                            + ATTRIBUTES, IO),
    "scannerOpen": ("i32", "1:binary tableName, 2:binary startRow, "
                    "3:list<binary> columns, 4:" + ATTRIBUTES, IO),
    "scannerOpenWithStop": ("i32", "1:binary tableName, 2:binary startRow, "
                            "3:binary stopRow, 4:list<binary> columns, 5:"
                            + ATTRIBUTES, IO),
    "scannerOpenWithPrefix": ("i32", "1:binary tableName, "
                              "2:binary startAndPrefix, "
                              "3:list<binary> columns, 4:" + ATTRIBUTES, IO),
    "scannerGet": ("list<TRowResult>", "1:i32 id", IO_IA),
    "scannerGetList": ("list<TRowResult>", "1:i32 id, 2:i32 nbRows", IO_IA),
    "scannerClose": ("void", "1:i32 id", IO_IA),
}
SCALARS = {TType.BOOL: "bool", TType.BYTE: "byte", TType.I16: "i16",
           TType.I32: "i32", TType.I64: "i64", TType.DOUBLE: "double"}


def type_text(ttype, arguments):
    if ttype == TType.STRING:
        return "binary" if arguments == "BINARY" else "string"
    if ttype == TType.STRUCT:
        return arguments[0].__name__
    if ttype == TType.MAP:
        return "map<%s,%s>" % (type_text(*arguments[0:2]),
                               type_text(*arguments[2:4]))
    if ttype in (TType.LIST, TType.SET):
        return "list<%s>" % type_text(*arguments[0:2])
    return SCALARS[ttype]


def fields_text(spec):
    return ", ".join("%d:%s %s" % (f[0], type_text(f[1], f[3]), f[2])
                     for f in spec if f is not None and f[0] != 0)


def test_idl_matches_hbase_wire_format():
    """Names, field ids and types of every struct and call as in HBase's
    Hbase.thrift: a client generated from the project's IDL talks to HBase."""
    hbase, ttypes = hbase_server.bindings()
    for name, expected in HBASE_STRUCTS.items():
        assert fields_text(getattr(ttypes, name).thrift_spec) == expected, \
            name
    for name, defaults in HBASE_DEFAULTS.items():
        instance = getattr(ttypes, name)()
        for field, value in defaults.items():
            assert getattr(instance, field) == value, (name, field)
    methods = {n for n in dir(hbase.Iface) if not n.startswith("_")}
    assert methods == set(HBASE_METHODS)
    for name, (returns, arguments, throws) in HBASE_METHODS.items():
        result = getattr(hbase, name + "_result").thrift_spec
        success = [f for f in result if f is not None and f[0] == 0]
        got = type_text(success[0][1], success[0][3]) if success else "void"
        assert got == returns, name
        assert fields_text(getattr(hbase, name + "_args").thrift_spec) == \
            arguments, name
        assert fields_text(result) == throws, name


def test_idl_compiles_for_c_glib(tmp_path):
    """The C client is generated from the same file at build time."""
    subprocess.run(["thrift", "--gen", "c_glib", "-out", str(tmp_path),
                    str(hbase_server.IDL)], check=True)
    flags = subprocess.run(["pkg-config", "--cflags", "thrift_c_glib"],
                           check=True, stdout=subprocess.PIPE,
                           text=True).stdout.split()
    sources = sorted(tmp_path.glob("*.c"))
    assert [p.name for p in sources] == ["hbase_hbase.c",
                                         "hbase_hbase_types.c"]
    for source in sources:
        subprocess.run(["gcc", "-std=gnu11", "-c", "-I", str(tmp_path)] +
                       flags + [str(source), "-o",
                                str(source.with_suffix(".o"))], check=True)
    header = (tmp_path / "hbase_hbase.h").read_text()
    assert "hbase_hbase_if_get_row_with_columns" in header


# -- tables ------------------------------------------------------------------

def test_create_table_lists_its_families(hbase_client):
    t = hbase_client.t
    table = hbase_client.new_table(b"meta_data:", b"raw_data",
                                   max_versions=5)
    assert table in hbase_client.getTableNames()
    assert hbase_client.isTableEnabled(table) is True
    descriptors = hbase_client.getColumnDescriptors(table)
    assert sorted(descriptors) == [b"meta_data:", b"raw_data:"]
    family = descriptors[b"raw_data:"]
    assert isinstance(family, t.ColumnDescriptor)
    assert family.name == b"raw_data:"
    assert family.maxVersions == 5
    assert family.compression == "NONE"
    assert family.timeToLive == 0x7fffffff


def test_create_table_keeps_family_settings(hbase_client):
    t = hbase_client.t
    name = hbase_client.new_table(b"a")
    hbase_client.drop_table(name)
    hbase_client.createTable(name, [
        t.ColumnDescriptor(name=b"ids:", maxVersions=1, compression="gz",
                           inMemory=True, bloomFilterType="ROW",
                           blockCacheEnabled=True, timeToLive=86400)])
    family = hbase_client.getColumnDescriptors(name)[b"ids:"]
    assert (family.maxVersions, family.compression, family.inMemory,
            family.bloomFilterType, family.blockCacheEnabled,
            family.timeToLive) == (1, "GZ", True, "ROW", True, 86400)


def test_create_existing_table_raises_already_exists(hbase_client):
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    error = error_of(hbase_client.createTable, table,
                     [t.ColumnDescriptor(name=b"g:")])
    assert isinstance(error, t.AlreadyExists)
    assert error.message == "table name already in use"
    assert sorted(hbase_client.getColumnDescriptors(table)) == [b"f:"]


@pytest.mark.parametrize("descriptor", [
    dict(name=b"f:", compression="no-such-codec"),
    dict(name=b"f:", bloomFilterType="no-such-bloom"),
    dict(name=b""),
    dict(name=b".hidden"),
    dict(name=b"f:", maxVersions=0),
], ids=["compression", "bloom", "empty-name", "dot-name", "zero-versions"])
def test_create_table_with_bad_family_raises_illegal_argument(hbase_client,
                                                              descriptor):
    t = hbase_client.t
    name = hbase_client.new_table(b"x")
    hbase_client.drop_table(name)
    error = error_of(hbase_client.createTable, name,
                     [t.ColumnDescriptor(**descriptor)])
    assert isinstance(error, t.IllegalArgument), error
    assert name not in hbase_client.getTableNames()


def test_create_table_with_a_family_twice_raises_illegal_argument(
        hbase_client):
    t = hbase_client.t
    name = hbase_client.new_table(b"x")
    hbase_client.drop_table(name)
    error = error_of(hbase_client.createTable, name, [
        t.ColumnDescriptor(name=b"f:"), t.ColumnDescriptor(name=b"f")])
    assert isinstance(error, t.IllegalArgument)
    assert "already exists" in error.message
    assert name not in hbase_client.getTableNames()


def test_create_table_without_families_is_refused(hbase_client):
    t = hbase_client.t
    name = hbase_client.new_table(b"x")
    hbase_client.drop_table(name)
    error = error_of(hbase_client.createTable, name, [])
    assert isinstance(error, t.IOError)
    assert "at least one column family" in error.message
    assert name not in hbase_client.getTableNames()


def test_bad_table_name_or_row_key(hbase_client):
    """HBase checks names and row keys before the try blocks of most calls:
    a TApplicationException; mutateRow catches them: IllegalArgument."""
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    for call, args in [
            (hbase_client.getRow, (b"no spaces allowed", b"r", {})),
            (hbase_client.getRow, (table, b"", {})),
            (hbase_client.deleteAllRow, (table, b"", {})),
            (hbase_client.atomicIncrement, (table, b"", b"f:n", 1))]:
        error = error_of(call, *args)
        assert isinstance(error, TApplicationException), (call, args)
        assert error.type == TApplicationException.INTERNAL_ERROR
    for name, row in [(b"no spaces allowed", b"r"), (table, b"")]:
        error = error_of(hbase_client.mutateRow, name, row,
                         [hbase_client.mutation(b"f:q", b"v")], {})
        assert isinstance(error, t.IllegalArgument)
    # The connection still works after these exceptions.
    assert table in hbase_client.getTableNames()
    assert hbase_client.drain(hbase_client.scannerOpen(table, b"", [], {})) \
        == []


def test_disable_and_enable_table(hbase_client):
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"r", {b"f:q": b"v"})
    hbase_client.disableTable(table)
    assert hbase_client.isTableEnabled(table) is False
    assert table in hbase_client.getTableNames()
    error = error_of(hbase_client.disableTable, table)
    assert isinstance(error, t.IOError)
    assert "TableNotEnabledException" in error.message
    for call, args in [
            (hbase_client.getRowWithColumns, (table, b"r", [], {})),
            (hbase_client.mutateRow, (table, b"r", [
                hbase_client.mutation(b"f:q", b"w")], {})),
            (hbase_client.atomicIncrement, (table, b"r", b"f:n", 1)),
            (hbase_client.deleteAllRow, (table, b"r", {}))]:
        error = error_of(call, *args)
        assert isinstance(error, t.IOError), call
        assert "TableNotEnabledException" in error.message
    hbase_client.enableTable(table)
    assert hbase_client.isTableEnabled(table) is True
    error = error_of(hbase_client.enableTable, table)
    assert isinstance(error, t.IOError)
    assert "TableNotDisabledException" in error.message
    assert hbase_client.row(table, b"r") == {b"f:q": b"v"}


def test_delete_table_only_when_disabled(hbase_client):
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"r", {b"f:q": b"v"})
    error = error_of(hbase_client.deleteTable, table)
    assert isinstance(error, t.IOError)
    assert "TableNotDisabledException" in error.message
    assert hbase_client.row(table, b"r") == {b"f:q": b"v"}
    hbase_client.disableTable(table)
    hbase_client.deleteTable(table)
    assert table not in hbase_client.getTableNames()
    error = error_of(hbase_client.deleteTable, table)
    assert isinstance(error, t.IOError)
    assert "table does not exist" in error.message
    # A new table of that name starts empty.
    hbase_client.createTable(table, [t.ColumnDescriptor(name=b"f:")])
    assert hbase_client.row(table, b"r") is None


def test_unknown_table_is_io_error(hbase_client):
    t = hbase_client.t
    missing = hbase_client.new_table(b"f")
    hbase_client.drop_table(missing)
    for call, args in [
            (hbase_client.getRowWithColumns, (missing, b"r", [], {})),
            (hbase_client.getRowsWithColumns, (missing, [b"r"], [], {})),
            (hbase_client.get, (missing, b"r", b"f:q", {})),
            (hbase_client.mutateRow, (missing, b"r", [
                hbase_client.mutation(b"f:q", b"v")], {})),
            (hbase_client.atomicIncrement, (missing, b"r", b"f:n", 1)),
            (hbase_client.deleteAll, (missing, b"r", b"f:q", {})),
            (hbase_client.deleteAllRow, (missing, b"r", {})),
            (hbase_client.getColumnDescriptors, (missing,)),
            (hbase_client.isTableEnabled, (missing,)),
            (hbase_client.enableTable, (missing,)),
            (hbase_client.disableTable, (missing,))]:
        error = error_of(call, *args)
        assert isinstance(error, t.IOError), (call, error)
        assert "TableNotFoundException" in error.message, error.message
        assert missing.decode() in error.message
        assert not error.canRetry


def test_unknown_table_scanner_fails_at_open_or_first_get(hbase_client):
    """HBase 1.x opens the region scanner in scannerOpen, 2.x at the first
    scannerGet (the stand-in does as 2.x): either way an IOError."""
    t = hbase_client.t
    missing = hbase_client.new_table(b"f")
    hbase_client.drop_table(missing)
    try:
        scanner = hbase_client.scannerOpenWithPrefix(missing, b"", [], {})
    except t.IOError as error:
        assert "TableNotFoundException" in error.message
        return
    error = error_of(hbase_client.scannerGet, scanner)
    assert isinstance(error, t.IOError)
    assert "TableNotFoundException" in error.message


def test_mutate_row_without_mutations_sends_nothing(hbase_client):
    """HBase's handler makes no RPC for an empty mutation list: no error,
    even for a table that does not exist."""
    missing = hbase_client.new_table(b"f")
    hbase_client.drop_table(missing)
    hbase_client.mutateRow(missing, b"r", [], {})
    hbase_client.mutateRows(missing, [], {})


# -- families ----------------------------------------------------------------

def test_unknown_family_in_put_fails_the_whole_put(hbase_client):
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    error = error_of(hbase_client.mutateRow, table, b"r", [
        hbase_client.mutation(b"f:ok", b"1"),
        hbase_client.mutation(b"nope:q", b"2")], {})
    assert isinstance(error, t.IOError)
    assert "NoSuchColumnFamilyException" in error.message
    assert "nope" in error.message
    assert hbase_client.row(table, b"r") is None


def test_unknown_family_in_get_delete_increment_scan(hbase_client):
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"r", {b"f:q": b"v"})
    for call, args in [
            (hbase_client.getRowWithColumns, (table, b"r", [b"nope"], {})),
            (hbase_client.getRowWithColumns, (table, b"r", [b"nope:q"], {})),
            (hbase_client.getRowsWithColumns, (table, [b"r"], [b"nope"], {})),
            (hbase_client.deleteAll, (table, b"r", b"nope:q", {})),
            (hbase_client.mutateRow, (table, b"r", [
                hbase_client.mutation(b"nope", delete=True)], {})),
            (hbase_client.atomicIncrement, (table, b"r", b"nope:n", 1))]:
        error = error_of(call, *args)
        assert isinstance(error, t.IOError), call
        assert "NoSuchColumnFamilyException" in error.message
    try:
        scanner = hbase_client.scannerOpen(table, b"", [b"nope"], {})
        error = error_of(hbase_client.scannerGet, scanner)
    except t.IOError as raised:
        error = raised
    assert isinstance(error, t.IOError)
    assert "NoSuchColumnFamilyException" in error.message
    assert hbase_client.row(table, b"r") == {b"f:q": b"v"}


def test_failed_put_after_delete_keeps_the_delete(hbase_client):
    """mutateRow sends its Delete, then its Put: a bad family in the Put
    fails the call after the Delete is done."""
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"r", {b"f:a": b"1", b"f:b": b"2"})
    error = error_of(hbase_client.mutateRow, table, b"r", [
        hbase_client.mutation(b"f:a", delete=True),
        hbase_client.mutation(b"nope:q", b"x")], {})
    assert isinstance(error, t.IOError)
    assert hbase_client.row(table, b"r") == {b"f:b": b"2"}


def test_put_of_a_bare_family_is_dropped_by_mutate_row(hbase_client):
    """mutateRow ignores a put without a qualifier (HBase logs "No column
    qualifier specified"); mutateRows fails the whole batch."""
    table = hbase_client.new_table(b"f")
    hbase_client.mutateRow(table, b"r", [
        hbase_client.mutation(b"f", b"lost"),
        hbase_client.mutation(b"f:q", b"kept")], {})
    assert hbase_client.row(table, b"r") == {b"f:q": b"kept"}
    t = hbase_client.t
    error = error_of(hbase_client.mutateRows, table, [
        t.BatchMutation(row=b"s", mutations=[
            hbase_client.mutation(b"f:q", b"v"),
            hbase_client.mutation(b"f", b"v")])], {})
    assert isinstance(error, (TApplicationException, t.IllegalArgument))
    assert hbase_client.row(table, b"s") is None


# -- rows, columns, versions -------------------------------------------------

def test_rows_are_sorted_by_unsigned_key_bytes(hbase_client):
    table = hbase_client.new_table(b"f")
    keys = [b"\xff", b"a", b"\x80", b"ab", b"\x00", b"\x7f", b"A", b"a\x00"]
    for key in keys:
        hbase_client.put(table, key, {b"f:q": key})
    results = hbase_client.drain(hbase_client.scannerOpen(table, b"", [], {}))
    assert [r.row for r in results] == sorted(keys)
    assert [r.columns[b"f:q"].value for r in results] == sorted(keys)


def test_get_row_with_columns(hbase_client):
    table = hbase_client.new_table(b"meta_data", b"raw_data", b"flags")
    hbase_client.put(table, b"row", {
        b"meta_data:json": b"{}", b"raw_data:dump": b"\x00MDMP",
        b"raw_data:other": b"2", b"flags:processed": b"N",
        b"flags:": b"empty qualifier"})
    assert hbase_client.row(table, b"missing") is None
    assert hbase_client.getRowWithColumns(table, b"missing", [], {}) == []
    results = hbase_client.getRowWithColumns(table, b"row", [], {})
    assert len(results) == 1
    assert results[0].row == b"row"
    assert results[0].sortedColumns is None
    assert set(results[0].columns) == {
        b"meta_data:json", b"raw_data:dump", b"raw_data:other",
        b"flags:processed", b"flags:"}
    assert hbase_client.row(table, b"row", [b"raw_data"]) == {
        b"raw_data:dump": b"\x00MDMP", b"raw_data:other": b"2"}
    assert hbase_client.row(table, b"row", [b"meta_data:json"]) == {
        b"meta_data:json": b"{}"}
    assert hbase_client.row(table, b"row", [
        b"meta_data:json", b"flags:processed", b"flags:absent"]) == {
        b"meta_data:json": b"{}", b"flags:processed": b"N"}
    # "family:" is the empty qualifier (HBase >= 0.96), not the family.
    assert hbase_client.row(table, b"row", [b"flags:"]) == {
        b"flags:": b"empty qualifier"}
    # A row without any of the columns asked for is no row.
    assert hbase_client.row(table, b"row", [b"meta_data:absent"]) is None
    assert hbase_client.getRow(table, b"row", {})[0].columns == \
        results[0].columns


def test_column_selection_follows_hbase_get_rules(hbase_client):
    """Get.addFamily then addColumn narrows to the column; addColumn then
    addFamily widens to the family again."""
    table = hbase_client.new_table(b"f", b"g")
    hbase_client.put(table, b"r", {b"f:a": b"1", b"f:b": b"2",
                                   b"g:c": b"3"})
    assert hbase_client.row(table, b"r", [b"f", b"f:a"]) == {b"f:a": b"1"}
    assert hbase_client.row(table, b"r", [b"f:a", b"f"]) == {
        b"f:a": b"1", b"f:b": b"2"}


def test_qualifier_may_contain_colons(hbase_client):
    table = hbase_client.new_table(b"ids")
    hbase_client.put(table, b"r", {b"ids:ooid:plugin": b"x"})
    assert hbase_client.row(table, b"r", [b"ids:ooid:plugin"]) == {
        b"ids:ooid:plugin": b"x"}
    assert hbase_client.row(table, b"r", [b"ids:ooid"]) is None


def test_get_rows_with_columns(hbase_client):
    table = hbase_client.new_table(b"f", b"g")
    for key in (b"a", b"b", b"c"):
        hbase_client.put(table, key, {b"f:q": key, b"g:q": b"G" + key})
    results = hbase_client.getRowsWithColumns(
        table, [b"c", b"missing", b"a", b"c"], [b"f"], {})
    assert [r.row for r in results] == [b"c", b"a", b"c"]
    assert all(set(r.columns) == {b"f:q"} for r in results)
    results = hbase_client.getRows(table, [b"b"], {})
    assert [(r.row, sorted(r.columns)) for r in results] == [
        (b"b", [b"f:q", b"g:q"])]


def test_get_returns_the_newest_cell(hbase_client):
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"r", {b"f:q": b"one", b"f:p": b"p"})
    assert [c.value for c in hbase_client.get(table, b"r", b"f:q", {})] == \
        [b"one"]
    assert [c.value for c in hbase_client.get(table, b"r", b"f", {})] == \
        [b"p", b"one"]
    assert hbase_client.get(table, b"r", b"f:none", {}) == []
    assert hbase_client.get(table, b"none", b"f:q", {}) == []


def put_later(client, table, row, columns, after):
    """Puts columns once the server's clock is past `after` (ms); returns
    the timestamp of the put."""
    later_cell(client, table, b"scratch", b"f:tick", after)
    client.put(table, row, columns)
    return client.cells(table, row)[next(iter(columns))].timestamp


def test_cells_carry_millisecond_timestamps_newest_first(hbase_client):
    table = hbase_client.new_table(b"f", max_versions=3)
    before = int(time.time() * 1000)
    timestamps = [put_later(hbase_client, table, b"r", {b"f:q": b"v0"}, 0)]
    assert abs(timestamps[0] - before) < 600000, "not milliseconds"
    for index in (1, 2, 3):
        timestamps.append(put_later(hbase_client, table, b"r", {
            b"f:q": b"v%d" % index}, timestamps[-1]))
    assert timestamps == sorted(set(timestamps))
    cell = hbase_client.cells(table, b"r")[b"f:q"]
    assert (cell.value, cell.timestamp) == (b"v3", timestamps[3])
    # At most maxVersions versions are kept, newest first.
    versions = hbase_client.getVer(table, b"r", b"f:q", 10, {})
    assert [(v.value, v.timestamp) for v in versions] == [
        (b"v3", timestamps[3]), (b"v2", timestamps[2]),
        (b"v1", timestamps[1])]
    assert [v.value for v in hbase_client.getVer(table, b"r", b"f:q", 2,
                                                 {})] == [b"v3", b"v2"]


def test_max_versions_is_honoured(hbase_client):
    table = hbase_client.new_table(b"f", max_versions=1)
    timestamp = 0
    for value in (b"a", b"b", b"c"):
        timestamp = put_later(hbase_client, table, b"r", {b"f:q": value},
                              timestamp)
    versions = hbase_client.getVer(table, b"r", b"f:q", 10, {})
    assert [(v.value, v.timestamp) for v in versions] == [(b"c", timestamp)]
    t = hbase_client.t
    error = error_of(hbase_client.getVer, table, b"r", b"f:q", 0, {})
    assert isinstance(error, t.IOError)


def test_later_write_of_the_same_millisecond_wins(hbase_client):
    table = hbase_client.new_table(b"f")
    for index in range(200):
        value = b"%d" % index
        hbase_client.put(table, b"r", {b"f:q": value})
        assert hbase_client.row(table, b"r") == {b"f:q": value}


def test_large_cells(hbase_client):
    table = hbase_client.new_table(b"raw_data")
    dump = os.urandom(5 * 1024 * 1024)
    hbase_client.put(table, b"r", {b"raw_data:dump": dump,
                                   b"raw_data:small": b"s"})
    assert hbase_client.row(table, b"r", [b"raw_data:dump"]) == {
        b"raw_data:dump": dump}
    results = hbase_client.drain(hbase_client.scannerOpen(table, b"", [], {}))
    assert results[0].columns[b"raw_data:dump"].value == dump


# -- deletes -----------------------------------------------------------------

def test_delete_mutations(hbase_client):
    table = hbase_client.new_table(b"f", b"g")
    hbase_client.put(table, b"r", {b"f:a": b"1", b"f:b": b"2", b"g:c": b"3",
                                   b"g:": b"4"})
    hbase_client.mutateRow(table, b"r", [
        hbase_client.mutation(b"f:a", delete=True)], {})
    assert hbase_client.row(table, b"r") == {b"f:b": b"2", b"g:c": b"3",
                                             b"g:": b"4"}
    assert hbase_client.getVer(table, b"r", b"f:a", 10, {}) == []
    # "g:" deletes the empty qualifier only; "g" the whole family.
    hbase_client.mutateRow(table, b"r", [
        hbase_client.mutation(b"g:", delete=True)], {})
    assert hbase_client.row(table, b"r") == {b"f:b": b"2", b"g:c": b"3"}
    hbase_client.mutateRow(table, b"r", [
        hbase_client.mutation(b"g", delete=True)], {})
    assert hbase_client.row(table, b"r") == {b"f:b": b"2"}
    hbase_client.mutateRow(table, b"r", [
        hbase_client.mutation(b"f", delete=True)], {})
    assert hbase_client.row(table, b"r") is None
    assert hbase_client.drain(hbase_client.scannerOpen(table, b"", [], {})) \
        == []


def test_delete_all_and_delete_all_row(hbase_client):
    table = hbase_client.new_table(b"f", b"g")
    for key in (b"a", b"b"):
        hbase_client.put(table, key, {b"f:x": b"1", b"f:y": b"2",
                                      b"g:z": b"3"})
    hbase_client.deleteAll(table, b"a", b"f:x", {})
    assert hbase_client.row(table, b"a") == {b"f:y": b"2", b"g:z": b"3"}
    hbase_client.deleteAll(table, b"a", b"f", {})
    assert hbase_client.row(table, b"a") == {b"g:z": b"3"}
    hbase_client.deleteAllRow(table, b"b", {})
    assert hbase_client.row(table, b"b") is None
    hbase_client.deleteAllRow(table, b"never-there", {})
    results = hbase_client.drain(hbase_client.scannerOpen(table, b"", [], {}))
    assert [r.row for r in results] == [b"a"]


def test_mutate_rows_applies_puts_then_deletes(hbase_client):
    """mutateRows sends every Put, then every Delete: a delete of a column
    put in the same call wins whatever their order in the batch."""
    t = hbase_client.t
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"old", {b"f:q": b"1"})
    hbase_client.mutateRows(table, [
        t.BatchMutation(row=b"a", mutations=[
            hbase_client.mutation(b"f:q", delete=True),
            hbase_client.mutation(b"f:q", b"new")]),
        t.BatchMutation(row=b"b", mutations=[
            hbase_client.mutation(b"f:q", b"b"),
            hbase_client.mutation(b"f:r", b"r")]),
        t.BatchMutation(row=b"old", mutations=[
            hbase_client.mutation(b"f", delete=True)])], {})
    assert hbase_client.row(table, b"a") is None
    assert hbase_client.row(table, b"b") == {b"f:q": b"b", b"f:r": b"r"}
    assert hbase_client.row(table, b"old") is None


# -- counters ----------------------------------------------------------------

def test_atomic_increment(hbase_client):
    table = hbase_client.new_table(b"counters")
    assert hbase_client.atomicIncrement(table, b"m", b"counters:n", 1) == 1
    assert hbase_client.atomicIncrement(table, b"m", b"counters:n", 41) == 42
    assert hbase_client.atomicIncrement(table, b"m", b"counters:n", -50) == -8
    assert hbase_client.atomicIncrement(table, b"m", b"counters:n", 0) == -8
    assert hbase_client.row(table, b"m") == {b"counters:n": long_bytes(-8)}
    # A counter written by a put is read as a big-endian long.
    hbase_client.put(table, b"m", {b"counters:p": long_bytes(2 ** 40)})
    assert hbase_client.atomicIncrement(table, b"m", b"counters:p", 1) == \
        2 ** 40 + 1
    # A bare family increments the empty qualifier.
    assert hbase_client.atomicIncrement(table, b"m", b"counters", 3) == 3
    assert hbase_client.row(table, b"m", [b"counters:"]) == {
        b"counters:": long_bytes(3)}


def test_atomic_increment_of_a_cell_that_is_not_a_long(hbase_client):
    t = hbase_client.t
    table = hbase_client.new_table(b"counters")
    hbase_client.put(table, b"m", {b"counters:n": b"12"})
    error = error_of(hbase_client.atomicIncrement, table, b"m",
                     b"counters:n", 1)
    assert isinstance(error, t.IOError)
    assert ("isn't 64 bits wide" in error.message or
            "Field is not a long" in error.message), error.message
    assert hbase_client.row(table, b"m") == {b"counters:n": b"12"}


def test_concurrent_increments_are_exact(hbase_client, hbase_server):
    table = hbase_client.new_table(b"counters")
    failures = []

    def work():
        try:
            with hbase_server_client(hbase_server) as client:
                for _ in range(100):
                    client.atomicIncrement(table, b"m", b"counters:n", 1)
                    client.put(table, b"t%d" % threading.get_ident(),
                               {b"counters:x": b"x"})
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert hbase_client.atomicIncrement(table, b"m", b"counters:n", 0) == 600


def hbase_server_client(server):
    return hbase_server.HBaseClient(server.host, server.port)


# -- scanners ----------------------------------------------------------------

@pytest.fixture
def scan_table(hbase_client):
    """Rows a1 a2 a3 b1 b2 c1; family f (q, and r on a2), family g on b1."""
    table = hbase_client.new_table(b"f", b"g")
    for key in (b"a1", b"a2", b"a3", b"b1", b"b2", b"c1"):
        hbase_client.put(table, key, {b"f:q": b"v" + key})
    hbase_client.put(table, b"a2", {b"f:r": b"r"})
    hbase_client.put(table, b"b1", {b"g:x": b"x"})
    return table


def rows_of(results):
    return [r.row for r in results]


def test_scanner_open(hbase_client, scan_table):
    client = hbase_client

    def rows_from(start, columns=()):
        return rows_of(client.drain(client.scannerOpen(
            scan_table, start, list(columns), {})))

    assert rows_from(b"") == [b"a1", b"a2", b"a3", b"b1", b"b2", b"c1"]
    assert rows_from(b"a3") == [b"a3", b"b1", b"b2", b"c1"]
    assert rows_from(b"b") == [b"b1", b"b2", b"c1"]
    # Rows with none of the selected columns are skipped.
    results = client.drain(client.scannerOpen(scan_table, b"", [b"g"], {}))
    assert [(r.row, r.columns) for r in results] == [
        (b"b1", {b"g:x": results[0].columns[b"g:x"]})]
    results = client.drain(client.scannerOpen(scan_table, b"", [b"f:r"], {}))
    assert rows_of(results) == [b"a2"]


def test_scanner_open_with_stop_excludes_the_stop_row(hbase_client,
                                                      scan_table):
    client = hbase_client
    scanner = client.scannerOpenWithStop(scan_table, b"a2", b"b2", [], {})
    assert rows_of(client.drain(scanner)) == [b"a2", b"a3", b"b1"]
    scanner = client.scannerOpenWithStop(scan_table, b"", b"", [b"f:q"], {})
    assert len(client.drain(scanner)) == 6


def test_scanner_open_with_prefix(hbase_client, scan_table):
    client = hbase_client
    scanner = client.scannerOpenWithPrefix(scan_table, b"a", [b"f:q"], {})
    results = client.drain(scanner)
    assert rows_of(results) == [b"a1", b"a2", b"a3"]
    assert all(set(r.columns) == {b"f:q"} for r in results)
    scanner = client.scannerOpenWithPrefix(scan_table, b"zz", [], {})
    assert client.drain(scanner) == []


def test_scanner_get_and_get_list(hbase_client, scan_table):
    client = hbase_client
    scanner = client.scannerOpen(scan_table, b"", [], {})
    first = client.scannerGet(scanner)
    assert rows_of(first) == [b"a1"]
    assert rows_of(client.scannerGetList(scanner, 3)) == [b"a2", b"a3", b"b1"]
    assert rows_of(client.scannerGetList(scanner, 10)) == [b"b2", b"c1"]
    assert client.scannerGet(scanner) == []
    assert client.scannerGetList(scanner, 5) == []
    assert client.scannerGet(scanner) == []
    client.scannerClose(scanner)


def test_closed_or_unknown_scanner_is_illegal_argument(hbase_client,
                                                       scan_table):
    t = hbase_client.t
    scanner = hbase_client.scannerOpen(scan_table, b"", [], {})
    hbase_client.scannerClose(scanner)
    for call, args in [(hbase_client.scannerGet, (scanner,)),
                       (hbase_client.scannerGetList, (scanner, 2)),
                       (hbase_client.scannerClose, (scanner,)),
                       (hbase_client.scannerGet, (2 ** 31 - 7,))]:
        error = error_of(call, *args)
        assert isinstance(error, t.IllegalArgument), call
        assert error.message == "scanner ID is invalid"


def test_scanner_survives_concurrent_mutations(hbase_client, scan_table):
    """A scanner goes on from the last row it returned.  The stand-in shows
    rows as they are at each scannerGet; HBase reads at the point its region
    scanner opened (and a client scanner may have fetched ahead): both are
    accepted, a broken or repeating scanner is not."""
    client = hbase_client
    scanner = client.scannerOpen(scan_table, b"", [], {})
    assert rows_of(client.scannerGetList(scanner, 2)) == [b"a1", b"a2"]
    client.deleteAllRow(scan_table, b"a3", {})        # the next row goes
    client.put(scan_table, b"a25", {b"f:q": b"new"})  # a row before ...
    client.put(scan_table, b"b15", {b"f:q": b"new"})  # ... and one after
    client.deleteAllRow(scan_table, b"a1", {})        # already returned
    rest = rows_of(client.drain(scanner))
    assert rest in ([b"a25", b"b1", b"b15", b"b2", b"c1"],   # live
                    [b"a3", b"b1", b"b2", b"c1"]), rest      # snapshot
    if hbase_client_is_standin(client):
        assert rest[0] == b"a25"


def hbase_client_is_standin(client):
    return not os.environ.get(hbase_server.ENVIRONMENT_SWITCH)


def test_many_open_scanners(hbase_client, scan_table):
    scanners = [hbase_client.scannerOpenWithPrefix(scan_table, b"a", [], {})
                for _ in range(20)]
    assert len(set(scanners)) == 20
    for index, scanner in enumerate(scanners):
        assert rows_of(hbase_client.scannerGet(scanner)) == [b"a1"]
        if index % 2:
            hbase_client.scannerClose(scanner)
    for scanner in scanners[0::2]:
        assert rows_of(hbase_client.drain(scanner)) == [b"a2", b"a3"]


def scan(client, table, **fields):
    return client.drain(client.scannerOpenWithScan(
        table, client.t.TScan(**fields), {}))


def test_scanner_open_with_scan_bounds_and_columns(hbase_client, scan_table):
    client = hbase_client
    assert rows_of(scan(client, scan_table)) == [
        b"a1", b"a2", b"a3", b"b1", b"b2", b"c1"]
    assert rows_of(scan(client, scan_table, startRow=b"a2",
                        stopRow=b"b2")) == [b"a2", b"a3", b"b1"]
    results = scan(client, scan_table, columns=[b"f:r", b"g"])
    assert [(r.row, sorted(r.columns)) for r in results] == [
        (b"a2", [b"f:r"]), (b"b1", [b"g:x"])]
    results = scan(client, scan_table, startRow=b"b", caching=1,
                   cacheBlocks=False)
    assert rows_of(results) == [b"b1", b"b2", b"c1"]


def test_scanner_open_with_scan_sort_columns(hbase_client, scan_table):
    results = scan(hbase_client, scan_table, startRow=b"b1", stopRow=b"b2",
                   sortColumns=True)
    assert len(results) == 1
    assert results[0].columns is None
    assert [(c.columnName, c.cell.value) for c in results[0].sortedColumns] \
        == [(b"f:q", b"vb1"), (b"g:x", b"x")]


def test_scanner_open_with_scan_reversed(hbase_client, scan_table):
    assert rows_of(scan(hbase_client, scan_table, reversed=True)) == [
        b"c1", b"b2", b"b1", b"a3", b"a2", b"a1"]
    assert rows_of(scan(hbase_client, scan_table, reversed=True,
                        startRow=b"b1", stopRow=b"a1")) == [
        b"b1", b"a3", b"a2"]


def test_scanner_batch_size_splits_wide_rows(hbase_client):
    """Scan.setBatch: at most batchSize cells per result; a wide row comes
    as several results with the same row key."""
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"narrow", {b"f:a": b"1"})
    hbase_client.put(table, b"wide", {b"f:%d" % i: b"%d" % i
                                      for i in range(5)})
    results = scan(hbase_client, table, batchSize=2)
    assert [(r.row, sorted(r.columns)) for r in results] == [
        (b"narrow", [b"f:a"]), (b"wide", [b"f:0", b"f:1"]),
        (b"wide", [b"f:2", b"f:3"]), (b"wide", [b"f:4"])]
    scanner = hbase_client.scannerOpenWithScan(
        table, hbase_client.t.TScan(batchSize=2, startRow=b"wide"), {})
    assert [sorted(r.columns) for r in hbase_client.scannerGetList(
        scanner, 2)] == [[b"f:0", b"f:1"], [b"f:2", b"f:3"]]
    assert [sorted(r.columns) for r in hbase_client.drain(scanner)] == [
        [b"f:4"]]


def test_scanner_timestamp_reads_older_versions(hbase_client):
    table = hbase_client.new_table(b"f")
    hbase_client.put(table, b"r", {b"f:q": b"old"})
    old = hbase_client.cells(table, b"r")[b"f:q"].timestamp
    later_cell(hbase_client, table, b"scratch", b"f:q", old)
    hbase_client.put(table, b"r", {b"f:q": b"new"})
    new = hbase_client.cells(table, b"r")[b"f:q"]
    assert new.value == b"new" and new.timestamp > old
    results = scan(hbase_client, table, timestamp=new.timestamp,
                   startRow=b"r", stopRow=b"r\x00")
    assert [(r.row, r.columns[b"f:q"].value) for r in results] == [
        (b"r", b"old")]
    assert scan(hbase_client, table, timestamp=old) == []


def test_scanner_filters(hbase_client, scan_table):
    client = hbase_client
    assert rows_of(scan(client, scan_table,
                        filterString=b"PrefixFilter('b')")) == [b"b1", b"b2"]
    results = scan(client, scan_table, filterString=b"KeyOnlyFilter()")
    assert len(results) == 6
    assert all(c.value == b"" for r in results for c in r.columns.values())
    assert results[1].columns[b"f:q"].timestamp > 0
    results = scan(client, scan_table,
                   filterString=b"PrefixFilter('a') AND KeyOnlyFilter(true)")
    assert rows_of(results) == [b"a1", b"a2", b"a3"]
    assert results[0].columns[b"f:q"].value == struct.pack(">i", 3)
    results = scan(client, scan_table, filterString=b"FirstKeyOnlyFilter()")
    assert [sorted(r.columns) for r in results] == [[b"f:q"]] * 6
    results = scan(client, scan_table,
                   filterString=b"ColumnPrefixFilter('r')")
    assert [(r.row, sorted(r.columns)) for r in results] == [
        (b"a2", [b"f:r"])]
    assert rows_of(scan(client, scan_table, startRow=b"a2",
                        filterString=b"InclusiveStopFilter('b1')")) == [
        b"a2", b"a3", b"b1"]
    assert rows_of(scan(client, scan_table, filterString=(
        b"(PrefixFilter('a') AND FirstKeyOnlyFilter()) AND "
        b"KeyOnlyFilter()"))) == [b"a1", b"a2", b"a3"]
    assert rows_of(scan(client, scan_table, startRow=b"b",
                        filterString=b"WHILE PrefixFilter('b')")) == [
        b"b1", b"b2"]
    assert scan(client, scan_table,
                filterString=b"WHILE PrefixFilter('b')") == []
    quoted = client.new_table(b"f")
    client.put(quoted, b"it's", {b"f:q": b"1"})
    client.put(quoted, b"its", {b"f:q": b"1"})
    assert rows_of(scan(client, quoted,
                        filterString=b"PrefixFilter('it''s')")) == [b"it's"]


@pytest.mark.parametrize("text", [b"NoSuchFilter()", b"PrefixFilter(",
                                  b"PrefixFilter(unquoted)",
                                  b"FirstKeyOnlyFilter('x')"])
def test_bad_filter_string_is_an_application_exception(hbase_client,
                                                        scan_table, text):
    """ParseFilter throws IllegalArgumentException, which HBase's
    scannerOpenWithScan does not catch."""
    error = error_of(hbase_client.scannerOpenWithScan, scan_table,
                     hbase_client.t.TScan(filterString=text), {})
    assert isinstance(error, TApplicationException), error


# -- thread safety -----------------------------------------------------------

def test_concurrent_clients(hbase_client, hbase_server):
    table = hbase_client.new_table(b"f")
    failures = []

    def work(number):
        try:
            with hbase_server_client(hbase_server) as client:
                for index in range(50):
                    key = b"%d-%03d" % (number, index)
                    client.put(table, key, {b"f:q": key})
                    assert client.row(table, key) == {b"f:q": key}
                    scanner = client.scannerOpenWithPrefix(
                        table, b"%d-" % number, [], {})
                    assert len(client.drain(scanner)) == index + 1
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(hbase_client.drain(hbase_client.scannerOpen(
        table, b"", [], {}))) == 250


# -- only the stand-in -------------------------------------------------------

def standin_table(client, *families, max_versions=3):
    t = client.t
    client.createTable(b"t", [t.ColumnDescriptor(name=f,
                                                 maxVersions=max_versions)
                              for f in families])
    return b"t"


def dump(client):
    """Every table with its families, state, and every version of every
    cell (getVer), for before/after comparisons."""
    state = {}
    for table in client.getTableNames():
        enabled = client.isTableEnabled(table)
        families = {name: (d.maxVersions, d.compression, d.timeToLive)
                    for name, d in client.getColumnDescriptors(table).items()}
        rows = {}
        if not enabled:
            client.enableTable(table)
        for result in client.drain(client.scannerOpen(table, b"", [], {})):
            rows[result.row] = {
                column: [(c.value, c.timestamp) for c in client.getVer(
                    table, result.row, column, 100, {})]
                for column in result.columns}
        if not enabled:
            client.disableTable(table)
        state[table] = (enabled, families, rows)
    return state


def test_standin_state_survives_kill_9(hbase_standin):
    client = hbase_standin.client()
    t = client.t
    client.createTable(b"crash_reports", [
        t.ColumnDescriptor(name=b"meta_data:", maxVersions=3),
        t.ColumnDescriptor(name=b"raw_data:", maxVersions=1)])
    client.createTable(b"metrics", [t.ColumnDescriptor(name=b"counters:")])
    client.createTable(b"gone", [t.ColumnDescriptor(name=b"f:")])
    client.createTable(b"off", [t.ColumnDescriptor(name=b"f:")])
    client.put(b"off", b"r", {b"f:q": b"kept while disabled"})
    client.disableTable(b"off")
    client.disableTable(b"gone")
    client.deleteTable(b"gone")
    for index in range(30):
        key = b"row%02d" % index
        client.put(b"crash_reports", key, {b"meta_data:json": b"v1" + key,
                                           b"raw_data:dump": os.urandom(100)})
        client.put(b"crash_reports", key, {b"meta_data:json": b"v2" + key})
        client.atomicIncrement(b"metrics", b"queue", b"counters:size", 1)
    client.atomicIncrement(b"metrics", b"queue", b"counters:size", -5)
    client.deleteAllRow(b"crash_reports", b"row03", {})
    client.deleteAll(b"crash_reports", b"row04", b"raw_data", {})
    client.mutateRow(b"crash_reports", b"row05", [
        client.mutation(b"meta_data:json", delete=True)], {})
    client.put(b"crash_reports", b"big", {b"raw_data:dump":
                                          os.urandom(5 * 1024 * 1024)})
    before = dump(client)
    assert before[b"metrics"][2][b"queue"][b"counters:size"][0][0] == \
        long_bytes(25)

    assert hbase_standin.kill() == -9
    hbase_standin.start()
    client = hbase_standin.client()
    assert dump(client) == before
    # It goes on counting where it was.
    assert client.atomicIncrement(b"metrics", b"queue", b"counters:size",
                                  1) == 26
    assert hbase_standin.stop() == 0
    hbase_standin.start()
    client = hbase_standin.client()
    assert client.atomicIncrement(b"metrics", b"queue", b"counters:size",
                                  0) == 26


def test_standin_acknowledged_writes_survive_kill_during_load(hbase_standin):
    client = hbase_standin.client()
    standin_table(client, b"f")
    acknowledged = []
    stop = threading.Event()
    errors = []

    def writer():
        with hbase_server.HBaseClient(hbase_standin.host,
                                      hbase_standin.port) as own:
            index = 0
            while not stop.is_set():
                key = b"%06d" % index
                try:
                    own.put(b"t", key, {b"f:q": key * 100})
                    own.atomicIncrement(b"t", b"counter", b"f:n", 1)
                except Exception as error:   # the kill: end of the load
                    errors.append(error)
                    return
                acknowledged.append(key)
                index += 1

    thread = threading.Thread(target=writer)
    thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    hbase_standin.kill()
    stop.set()
    thread.join()
    assert len(acknowledged) >= 300
    hbase_standin.start()
    client = hbase_standin.client()
    rows = {r.row for r in client.drain(client.scannerOpen(
        b"t", b"", [b"f:q"], {}))}
    assert set(acknowledged) <= rows
    assert len(rows - set(acknowledged)) <= 1     # the one in flight
    counter = client.atomicIncrement(b"t", b"counter", b"f:n", 0)
    assert len(acknowledged) <= counter <= len(acknowledged) + 1


def test_standin_sync_option(workdir):
    standin = hbase_server.Standin(workdir / "sync", extra_args=["--sync"])
    try:
        standin.start()
        client = standin.client()
        standin_table(client, b"f")
        client.put(b"t", b"r", {b"f:q": b"synced"})
        assert standin.kill() == -9
        standin.start()
        assert standin.client().row(b"t", b"r") == {b"f:q": b"synced"}
    finally:
        standin.teardown()


def test_standin_drops_a_torn_journal_tail(hbase_standin):
    client = hbase_standin.client()
    standin_table(client, b"f")
    client.put(b"t", b"r", {b"f:q": b"whole"})
    assert hbase_standin.kill() == -9
    journal = hbase_standin.data_dir / "journal"
    with open(journal, "ab") as f:
        f.write(struct.pack(">II", 1000, 0) + b"half a record")
    hbase_standin.start()
    assert "torn last record" in hbase_standin.log_text()
    client = hbase_standin.client()
    assert client.row(b"t", b"r") == {b"f:q": b"whole"}
    client.put(b"t", b"s", {b"f:q": b"after"})
    assert hbase_standin.restart() is hbase_standin
    client = hbase_standin.client()
    assert client.row(b"t", b"s") == {b"f:q": b"after"}


def test_standin_without_data_keeps_nothing(workdir):
    standin = hbase_server.Standin(workdir / "memory", data=False)
    try:
        standin.start()
        client = standin.client()
        standin_table(client, b"f")
        assert client.getTableNames() == [b"t"]
        assert standin.restart() is standin
        assert standin.client().getTableNames() == []
    finally:
        standin.teardown()


def test_standin_refuses_a_second_server_on_its_data(hbase_standin):
    result = subprocess.run(
        [str(hbase_server.STANDIN), "--port", "0", "--data",
         str(hbase_standin.data_dir)], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=60)
    assert result.returncode != 0
    assert "in use by another hbase-standin" in result.stdout


def test_standin_sigterm_exits_zero(hbase_standin):
    client = hbase_standin.client()
    standin_table(client, b"f")
    assert hbase_standin.stop() == 0


def test_standin_usage_errors():
    result = subprocess.run([str(hbase_server.STANDIN)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=60)
    assert result.returncode == 2
    assert "--port" in result.stdout


def test_standin_failure_injection(hbase_standin):
    client = hbase_standin.client()
    t = client.t
    standin_table(client, b"f")
    hbase_standin.fail_calls(True)
    deadline = time.monotonic() + 30
    while True:       # the signal is handled asynchronously: poll
        try:
            client.put(b"t", b"probe", {b"f:q": b"1"})
        except t.IOError as error:
            assert error.canRetry
            break
        assert time.monotonic() < deadline
    error = error_of(client.put, b"t", b"r", {b"f:q": b"lost"})
    assert isinstance(error, t.IOError) and error.canRetry
    hbase_standin.fail_calls(False)
    while True:
        try:
            client.put(b"t", b"r", {b"f:q": b"kept"})
            break
        except t.IOError:
            assert time.monotonic() < deadline
    assert client.row(b"t", b"r") == {b"f:q": b"kept"}


def test_standin_pause_makes_calls_time_out(hbase_standin):
    client = hbase_standin.client()
    standin_table(client, b"f")
    hbase_standin.pause()
    try:
        slow = hbase_standin.client(timeout=0.3)
        with pytest.raises(TTransportException) as caught:
            slow.getTableNames()
        assert isinstance(caught.value.inner, TimeoutError), caught.value
    finally:
        hbase_standin.resume()
    assert client.getTableNames() == [b"t"]


def test_standin_delete_masks_a_put_of_the_same_call(hbase_standin):
    """HBase: a delete marker masks every put with a timestamp <= its own,
    even a later one.  mutateRow's Delete and Put (usually) share a
    millisecond; the stand-in gives every call one timestamp, so the put
    of a delete-then-rewrite call is always lost."""
    client = hbase_standin.client()
    standin_table(client, b"f")
    client.put(b"t", b"r", {b"f:q": b"old", b"f:other": b"o"})
    client.mutateRow(b"t", b"r", [client.mutation(b"f:q", delete=True),
                                  client.mutation(b"f:q", b"new")], {})
    assert client.row(b"t", b"r") == {b"f:other": b"o"}
    client.mutateRow(b"t", b"r", [client.mutation(b"f", delete=True),
                                  client.mutation(b"f:q", b"new")], {})
    assert client.row(b"t", b"r") is None
    # A put of a later millisecond is not masked.
    client.put(b"t", b"scratch", {b"f:q": b"x"})
    not_before_the_marker = client.cells(b"t", b"scratch")[b"f:q"].timestamp
    later_cell(client, b"t", b"scratch", b"f:q", not_before_the_marker)
    client.put(b"t", b"r", {b"f:q": b"later"})
    assert client.row(b"t", b"r") == {b"f:q": b"later"}


def test_standin_first_scanner_id_is_zero(hbase_standin):
    client = hbase_standin.client()
    standin_table(client, b"f")
    assert client.scannerOpen(b"t", b"", [], {}) == 0
    assert client.scannerOpen(b"t", b"", [], {}) == 1


def test_standin_forgets_idle_scanners(workdir):
    """HBase 2 forgets a scanner unused for 2 x the client scanner timeout
    (--scanner-timeout, 120 s by default)."""
    standin = hbase_server.Standin(workdir / "idle", data=False,
                                   extra_args=["--scanner-timeout", "2000"])
    try:
        standin.start()
        client = standin.client()
        t = client.t
        standin_table(client, b"f")
        client.put(b"t", b"r", {b"f:q": b"1"})
        opened = client.cells(b"t", b"r")[b"f:q"].timestamp
        idle = client.scannerOpen(b"t", b"", [], {})
        busy = client.scannerOpen(b"t", b"", [], {})
        deadline = opened + 2500   # a stall of 2 s would fail the test
        while client.cells(b"t", b"r")[b"f:q"].timestamp <= deadline:
            assert client.scannerGetList(busy, 0) == []   # keeps it alive
            client.put(b"t", b"r", {b"f:q": b"1"})
        error = error_of(client.scannerGet, idle)
        assert isinstance(error, t.IllegalArgument)
        assert error.message == "scanner ID is invalid"
        assert rows_of(client.scannerGet(busy)) == [b"r"]
    finally:
        standin.teardown()


def test_standin_refuses_filters_it_does_not_implement(hbase_standin):
    """HBase knows these filters; the stand-in says so instead of ignoring
    them."""
    client = hbase_standin.client()
    t = client.t
    standin_table(client, b"f")
    for text in (b"PageFilter(1)", b"PrefixFilter('a') OR KeyOnlyFilter()",
                 b"SKIP ValueFilter(=, 'binary:x')"):
        error = error_of(client.scannerOpenWithScan, b"t",
                         t.TScan(filterString=text), {})
        assert isinstance(error, t.IOError), text
        assert "hbase-standin does not implement" in error.message


def test_standin_scanner_errors_come_at_the_first_get(hbase_standin):
    """As HBase 2.x: scannerOpen* only parse their arguments."""
    client = hbase_standin.client()
    t = client.t
    scanner = client.scannerOpen(b"missing", b"", [], {})
    error = error_of(client.scannerGet, scanner)
    assert isinstance(error, t.IOError)
    assert "TableNotFoundException: missing" in error.message
    standin_table(client, b"f")
    scanner = client.scannerOpen(b"t", b"", [b"g"], {})
    error = error_of(client.scannerGetList, scanner, 3)
    assert "NoSuchColumnFamilyException" in error.message
    scanner = client.scannerOpen(b"t", b"", [], {})
    client.put(b"t", b"r", {b"f:q": b"1"})
    client.disableTable(b"t")
    error = error_of(client.scannerGet, scanner)
    assert "TableNotEnabledException" in error.message


def test_standin_time_to_live(hbase_standin):
    client = hbase_standin.client()
    t = client.t
    client.createTable(b"t", [t.ColumnDescriptor(name=b"f:", timeToLive=1),
                              t.ColumnDescriptor(name=b"g:")])
    client.put(b"t", b"r", {b"f:q": b"short", b"g:q": b"long"})
    written = client.cells(b"t", b"r")[b"g:q"].timestamp
    later_cell(client, b"t", b"scratch", b"g:q", written + 1000)
    assert client.row(b"t", b"r") == {b"g:q": b"long"}
