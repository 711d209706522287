// storage/hbase/hbase.thrift - the part of HBase's Thrift (v1) interface
// that crashfs speaks.
//
// This is the project's own IDL, not a copy of HBase's Hbase.thrift: it
// declares only the types and calls crashfs uses, but each of them with the
// names, field ids, field types, defaults, argument ids and exception ids of
// HBase's interface (hbase-thrift, org/apache/hadoop/hbase/thrift/Hbase.thrift).
// Thrift's binary protocol carries no more than the method name, the field
// ids and the field types, so a client generated from this file talks to a
// real HBase Thrift server, and the stand-in server (contrib/hbase-standin)
// serves the same bytes.  Change nothing here without checking it against
// HBase's file: a renumbered field or a changed type breaks the wire.
//
// Generated at build time, never committed:
//   thrift --gen c_glib hbase.thrift   (the crashfs HBase store)
//   thrift --gen py hbase.thrift       (the stand-in server and the tests)
//
// Conventions of the interface, as HBase defines them:
// - Text and Bytes are binary: row keys, column names and values are byte
//   strings; a column is "family:qualifier", a bare "family" names the whole
//   family (since HBase 0.96 "family:" is the empty qualifier, not the
//   family).
// - Errors: IOError for anything the cluster reports (unknown table, unknown
//   family, disabled table, ...), IllegalArgument for a bad argument where a
//   call declares it, AlreadyExists for createTable of an existing table.

namespace c_glib Hbase
namespace py hbase_thrift

typedef binary Text
typedef binary Bytes
typedef i32    ScannerID

// A value and the timestamp (milliseconds) it was stored with.
struct TCell {
  1:Bytes value,
  2:i64 timestamp
}

// A column family: input of createTable, output of getColumnDescriptors.
struct ColumnDescriptor {
  1:Text name,
  2:i32 maxVersions = 3,
  3:string compression = "NONE",
  4:bool inMemory = 0,
  5:string bloomFilterType = "NONE",
  6:i32 bloomFilterVectorSize = 0,
  7:i32 bloomFilterNbHashes = 0,
  8:bool blockCacheEnabled = 0,
  9:i32 timeToLive = 0x7fffffff
}

// A put (isDelete false: column "family:qualifier" gets value) or a delete
// (isDelete true: "family:qualifier" deletes that column, "family" the whole
// family of the row).
struct Mutation {
  1:bool isDelete = 0,
  2:Text column,
  3:Text value,
  4:bool writeToWAL = 1
}

// The mutations of one row, for mutateRows.
struct BatchMutation {
  1:Text row,
  2:list<Mutation> mutations
}

// One column of a TRowResult in sorted form.
struct TColumn {
  1:Text columnName,
  2:TCell cell
}

// A row: columns maps "family:qualifier" to its newest cell; sortedColumns
// is set instead when the scanner was opened with TScan.sortColumns.
struct TRowResult {
  1:Text row,
  2:optional map<Text, TCell> columns,
  3:optional list<TColumn> sortedColumns
}

// The parameters of scannerOpenWithScan.
struct TScan {
  1:optional Text startRow,
  2:optional Text stopRow,
  3:optional i64 timestamp,
  4:optional list<Text> columns,
  5:optional i32 caching,
  6:optional Text filterString,
  7:optional i32 batchSize,
  8:optional bool sortColumns,
  9:optional bool reversed,
  10:optional bool cacheBlocks
}

exception IOError {
  1:string message
  2:bool canRetry
}

exception IllegalArgument {
  1:string message
}

exception AlreadyExists {
  1:string message
}

service Hbase {
  void enableTable(1:Bytes tableName)
    throws (1:IOError io)

  void disableTable(1:Bytes tableName)
    throws (1:IOError io)

  bool isTableEnabled(1:Bytes tableName)
    throws (1:IOError io)

  list<Text> getTableNames()
    throws (1:IOError io)

  map<Text, ColumnDescriptor> getColumnDescriptors(1:Text tableName)
    throws (1:IOError io)

  void createTable(1:Text tableName, 2:list<ColumnDescriptor> columnFamilies)
    throws (1:IOError io, 2:IllegalArgument ia, 3:AlreadyExists exist)

  void deleteTable(1:Text tableName)
    throws (1:IOError io)

  list<TCell> get(1:Text tableName, 2:Text row, 3:Text column,
                  4:map<Text, Text> attributes)
    throws (1:IOError io)

  list<TCell> getVer(1:Text tableName, 2:Text row, 3:Text column,
                     4:i32 numVersions, 5:map<Text, Text> attributes)
    throws (1:IOError io)

  list<TRowResult> getRow(1:Text tableName, 2:Text row,
                          3:map<Text, Text> attributes)
    throws (1:IOError io)

  list<TRowResult> getRowWithColumns(1:Text tableName, 2:Text row,
                                     3:list<Text> columns,
                                     4:map<Text, Text> attributes)
    throws (1:IOError io)

  list<TRowResult> getRows(1:Text tableName, 2:list<Text> rows,
                           3:map<Text, Text> attributes)
    throws (1:IOError io)

  list<TRowResult> getRowsWithColumns(1:Text tableName, 2:list<Text> rows,
                                      3:list<Text> columns,
                                      4:map<Text, Text> attributes)
    throws (1:IOError io)

  void mutateRow(1:Text tableName, 2:Text row, 3:list<Mutation> mutations,
                 4:map<Text, Text> attributes)
    throws (1:IOError io, 2:IllegalArgument ia)

  void mutateRows(1:Text tableName, 2:list<BatchMutation> rowBatches,
                  3:map<Text, Text> attributes)
    throws (1:IOError io, 2:IllegalArgument ia)

  i64 atomicIncrement(1:Text tableName, 2:Text row, 3:Text column,
                      4:i64 value)
    throws (1:IOError io, 2:IllegalArgument ia)

  void deleteAll(1:Text tableName, 2:Text row, 3:Text column,
                 4:map<Text, Text> attributes)
    throws (1:IOError io)

  void deleteAllRow(1:Text tableName, 2:Text row,
                    3:map<Text, Text> attributes)
    throws (1:IOError io)

  ScannerID scannerOpenWithScan(1:Text tableName, 2:TScan scan,
                                3:map<Text, Text> attributes)
    throws (1:IOError io)

  ScannerID scannerOpen(1:Text tableName, 2:Text startRow,
                        3:list<Text> columns, 4:map<Text, Text> attributes)
    throws (1:IOError io)

  ScannerID scannerOpenWithStop(1:Text tableName, 2:Text startRow,
                                3:Text stopRow, 4:list<Text> columns,
                                5:map<Text, Text> attributes)
    throws (1:IOError io)

  ScannerID scannerOpenWithPrefix(1:Text tableName, 2:Text startAndPrefix,
                                  3:list<Text> columns,
                                  4:map<Text, Text> attributes)
    throws (1:IOError io)

  list<TRowResult> scannerGet(1:ScannerID id)
    throws (1:IOError io, 2:IllegalArgument ia)

  list<TRowResult> scannerGetList(1:ScannerID id, 2:i32 nbRows)
    throws (1:IOError io, 2:IllegalArgument ia)

  void scannerClose(1:ScannerID id)
    throws (1:IOError io, 2:IllegalArgument ia)
}
