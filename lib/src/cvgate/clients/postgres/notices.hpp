#pragma once
// Where the notices PostgreSQL sends a session ("relation already exists, skipping", warnings
// from the server) go, process-wide. libpq writes them to stderr unless told otherwise; without
// a sink they are dropped.

#include <functional>
#include <string_view>

namespace cvgate::clients::postgres {

using NoticeSink = std::function<void(std::string_view notice)>;
void set_notice_sink(NoticeSink sink);

namespace impl {
// The notice processor every connection installs (PQsetNoticeProcessor): forwards to the sink.
void forward_notice(void*, const char* message) noexcept;
}  // namespace impl

}  // namespace cvgate::clients::postgres
