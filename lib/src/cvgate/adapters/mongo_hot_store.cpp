#include <cvgate/adapters/mongo_hot_store.hpp>

#include <cvgate/adapters/dependency_error.hpp>

#include <boost/json/array.hpp>

namespace cvgate::adapters {

using boost::json::array;
using boost::json::object;

namespace {
constexpr auto hot_storage = jobs::Dependency::hot_storage;
}

// Filters and updates are named first: see the GCC 12 note in exec/offload.hpp. Every call is
// named after the port operation it serves: the client's observer is told of it under that name.
// Its failure reaches the domain as a jobs::DependencyError of hot storage.

jobs::Task<void> MongoHotStore::insert(const object& document) {
    co_await translated(hot_storage, client_.insert_one(collection_, document, {}, "insert"));
}

jobs::Task<std::optional<object>> MongoHotStore::find(std::string_view job_id) {
    object filter{{"_id", job_id}};
    co_return co_await translated(hot_storage, client_.find_one(collection_, std::move(filter), {}, "find"));
}

jobs::Task<bool> MongoHotStore::remove(std::string_view job_id) {
    object filter{{"_id", job_id}};
    co_return co_await translated(hot_storage,
                                  client_.delete_one(collection_, std::move(filter), {}, "delete")) > 0;
}

jobs::Task<bool> MongoHotStore::remove_if_unchanged(std::string_view job_id,
                                                    const jobs::HotVersion& version) {
    // The version synced: same status, same number of results and errors. A results worker
    // that appended meanwhile makes this match nothing, and the document stays.
    object filter{{"_id", job_id},
                  {"status", version.status},
                  {"results", object{{"$size", static_cast<std::int64_t>(version.results)}}},
                  {"errors", object{{"$size", static_cast<std::int64_t>(version.errors)}}}};
    co_return co_await translated(
        hot_storage, client_.delete_one(collection_, std::move(filter), {}, "delete_if_unchanged")) > 0;
}

jobs::Task<std::optional<object>> MongoHotStore::reopen(std::string_view job_id, std::int64_t added,
                                                        std::int64_t expected_before) {
    object filter{{"_id", job_id}, {"expected_files", expected_before}};
    object update{{"$set", object{{"expected_files", expected_before + added}, {"status", "pending"}}}};
    co_return co_await translated(
        hot_storage, client_.find_one_and_update(collection_, std::move(filter), std::move(update),
                                                 clients::mongo::ReturnDocument::before, {}, "reopen"));
}

jobs::Task<void> MongoHotStore::undo_reopen(std::string_view job_id, std::int64_t added,
                                            std::string_view old_status) {
    object filter{{"_id", job_id}};
    object update{{"$inc", object{{"expected_files", -added}}}, {"$set", object{{"status", old_status}}}};
    co_await translated(hot_storage, client_.update_one(collection_, std::move(filter), std::move(update), {},
                                                        "undo_reopen"));
}

jobs::Task<bool> MongoHotStore::undo_reopen_if_applied(std::string_view job_id, std::int64_t added,
                                                       std::int64_t expected_before,
                                                       std::string_view old_status) {
    object filter{{"_id", job_id}, {"expected_files", expected_before + added}};
    object update{{"$set", object{{"expected_files", expected_before}, {"status", old_status}}}};
    const auto result = co_await translated(
        hot_storage,
        client_.update_one(collection_, std::move(filter), std::move(update), {}, "undo_reopen"));
    co_return result.matched > 0;
}

jobs::Task<std::optional<object>> MongoHotStore::remove_candidate(std::string_view job_id,
                                                                  std::string_view cv_id) {
    // The cv's entries are pulled exactly as stored ($pullAll): FerretDB 1.24 matches $pull
    // values by equality only, so a condition such as {"cv_id": ...} would remove nothing.
    object holding{{"_id", job_id},
                   {"$or", array{object{{"results.cv_id", cv_id}}, object{{"errors.cv_id", cv_id}}}}};
    object find_filter = holding;
    auto found = co_await translated(
        hot_storage, client_.find_one(collection_, std::move(find_filter), {}, "remove_candidate"));
    if (!found) co_return std::nullopt;
    object pull_all;
    static constexpr const char* lists[] = {"results", "errors"};
    for (const char* list : lists) {
        array entries;
        if (const auto* v = found->if_contains(list); v && v->is_array()) {
            for (const auto& entry : v->get_array()) {
                const auto* id = entry.is_object() ? entry.get_object().if_contains("cv_id") : nullptr;
                if (id && id->is_string() && id->get_string() == cv_id) entries.push_back(entry);
            }
        }
        pull_all[list] = std::move(entries);
    }
    // One update: the entry goes and expected_files with it, so the results worker's
    // len(results) + len(errors) >= expected_files still fires for a pending job.
    object update{{"$pullAll", std::move(pull_all)}, {"$inc", object{{"expected_files", -1}}}};
    co_return co_await translated(
        hot_storage,
        client_.find_one_and_update(collection_, std::move(holding), std::move(update),
                                    clients::mongo::ReturnDocument::before, {}, "remove_candidate"));
}

jobs::Task<void> MongoHotStore::ping() { co_await translated(hot_storage, client_.ping({}, "ping")); }

}  // namespace cvgate::adapters
