#pragma once
// BSON <-> Boost.JSON, for the documents cvgate reads from and writes to MongoDB. BSON types
// JSON has no word for appear as relaxed Extended JSON wrappers, and those wrappers turn
// back into the BSON types they name:
//
//   BSON                     JSON
//   string (any UTF-8, NUL)  string
//   int32, int64             integer; an integer becomes int32 when it fits, else int64
//                            (as pymongo does for Python ints)
//   double                   double; NaN and infinities as {"$numberDouble": "NaN"} etc.
//   bool, null               bool, null
//   document, array          object (key order kept), array
//   date                     {"$date": "2025-11-17T10:30:00.000Z"} for years 1970-9999,
//                            else {"$date": {"$numberLong": "<ms since epoch>"}}
//   ObjectId                 {"$oid": "<24 hex digits>"}
//   any other BSON type      its relaxed Extended JSON form ({"$binary": ...},
//                            {"$numberDecimal": ...}, {"$timestamp": ...}...)
//
// Only an object made of exactly such a wrapper is read as one; every other object, query
// and update operators included ({"$size": 3}, {"$set": {...}}), is a plain document.
// Unsigned integers above INT64_MAX have no BSON form: ConversionError, as pymongo raises
// OverflowError. An int64 BSON value that fits in 32 bits comes back as int32 after a
// BSON -> JSON -> BSON trip (the JSON integer does not remember its width).

#include <boost/json/object.hpp>

#include <cstddef>
#include <memory>
#include <stdexcept>

// libbson's document, `bson_t` in <bson/bson.h>. Only the struct is declared here: declaring
// the `bson_t` typedef too would drop the 128-byte alignment libbson gives it.
struct _bson_t;

namespace cvgate::clients::mongo {

// A value with no BSON (or JSON) form: an integer beyond int64, a string or key that is not
// UTF-8, a NUL in a key, a malformed wrapper, nesting deeper than max_nesting_depth, or
// corrupt BSON. The message names the field path, never the value.
class ConversionError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// MongoDB refuses documents nested deeper than 100 levels; this bound keeps the recursive
// conversion far from the thread's stack limit whatever the input.
inline constexpr std::size_t max_nesting_depth = 128;

// Owns one heap-allocated bson_t (bson_new), destroyed with it.
class Bson {
public:
    Bson();                           // an empty document
    explicit Bson(_bson_t* adopted);  // takes ownership of a document from bson_new & co.

    _bson_t* get() const noexcept { return doc_.get(); }
    _bson_t* release() noexcept { return doc_.release(); }

private:
    struct Destroy {
        void operator()(_bson_t* doc) const noexcept;
    };
    std::unique_ptr<_bson_t, Destroy> doc_;
};

// Appends the members of `object` to `out`, in order. Throws ConversionError.
void append_json(_bson_t& out, const boost::json::object& object);

// A new document holding `object`. Throws ConversionError.
Bson to_bson(const boost::json::object& object);

// The document as JSON. Invalid UTF-8 in a string or key is replaced by U+FFFD (the result
// is always serialisable); corrupt BSON throws ConversionError.
boost::json::object to_json(const _bson_t& document);

}  // namespace cvgate::clients::mongo
