#include <cvgate/adapters/volume_journal.hpp>

#include <cvgate/adapters/dependency_error.hpp>
#include <cvgate/ids/uuid.hpp>
#include <cvgate/text/json_fields.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

namespace cvgate::adapters {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, int err) {
    throw volume_error(clients::ErrorKind::unavailable, what + ": " + std::strerror(err));
}

// A file of the staging directory, by the parts of its name.
struct Entry {
    std::string name;
    std::string replica;  // before the first dot; empty for a name of the older format
    std::string kind;     // after the last dot: alive, part, intent, recovering, tmp
    fs::file_time_type mtime;
};

std::vector<Entry> list(const std::string& dir) {
    std::vector<Entry> entries;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator{dir, ec}) {
        std::string name = e.path().filename().string();
        const auto first = name.find('.');
        const auto last = name.rfind('.');
        if (first == std::string::npos || first == 0) continue;
        std::error_code ignored;
        Entry entry{name, {}, name.substr(last + 1), e.last_write_time(ignored)};
        // {replica}.alive has one dot; the others two or more. `{uuid}.part` is the older format.
        if (entry.kind == "alive" || first != last) entry.replica = name.substr(0, first);
        entries.push_back(std::move(entry));
    }
    return entries;
}

std::string json_of(const jobs::Intent& i) {
    boost::json::array files;
    for (const auto& f : i.files) files.push_back(boost::json::string{f});
    return boost::json::serialize(boost::json::object{{"id", i.id},
                                                      {"flow", i.flow},
                                                      {"job_id", i.job_id},
                                                      {"correlation_id", i.correlation_id},
                                                      {"files", std::move(files)},
                                                      {"added", i.added},
                                                      {"hot", i.hot},
                                                      {"old_status", i.old_status},
                                                      {"expected_before", i.expected_before}});
}

std::optional<jobs::Intent> intent_of(const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec || size > (1u << 20)) return std::nullopt;
    std::string text(size, '\0');
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    const ssize_t n = ::read(fd, text.data(), text.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(text.size())) return std::nullopt;
    boost::system::error_code jec;
    auto v = boost::json::parse(text, jec);
    if (jec || !v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    auto s = [&](const char* k) { return text::string_field(o, k).value_or(""); };
    jobs::Intent i;
    i.id = s("id");
    i.flow = s("flow");
    i.job_id = s("job_id");
    i.correlation_id = s("correlation_id");
    i.hot = s("hot");
    i.old_status = s("old_status");
    i.added = text::integer_field(o, "added").value_or(0);
    i.expected_before = text::integer_field(o, "expected_before").value_or(0);
    if (const auto* f = o.if_contains("files"); f && f->is_array())
        for (const auto& name : f->get_array())
            if (name.is_string()) i.files.emplace_back(name.get_string());
    if (i.job_id.empty() || (i.flow != "submit" && i.flow != "add_cvs")) return std::nullopt;
    return i;
}

}  // namespace

VolumeJournal::VolumeJournal(std::string incoming)
    : incoming_{std::move(incoming)}, replica_{ids::uuid_v4()} {
    heartbeat();
}

std::string VolumeJournal::staged_path(const std::string& unique) const {
    return incoming_ + "/" + replica_ + "." + unique + ".part";
}

void VolumeJournal::heartbeat() {
    const std::string path = incoming_ + "/" + replica_ + ".alive";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {  // the staging directory was removed: make it again
        if (::mkdir(incoming_.c_str(), 0755) != 0 && errno != EEXIST) fail("create staging directory", errno);
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0) fail("heartbeat", errno);
    const int rc = ::futimens(fd, nullptr);
    const int err = errno;
    ::close(fd);
    if (rc != 0) fail("heartbeat", err);
}

void VolumeJournal::record(const jobs::Intent& intent) {
    // Written whole under a temporary name, then renamed: a reader sees the old or the new
    // entry, never half of one. Not fsynced: it guards against a killed process, whose
    // writes the kernel keeps, not against a crashed machine.
    const std::string path = incoming_ + "/" + replica_ + "." + intent.id + ".intent";
    const std::string tmp = path + ".tmp";
    const std::string text = json_of(intent);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("write journal entry", errno);
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int err = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(tmp.c_str());
        fail("write journal entry", err);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("write journal entry", errno);
}

void VolumeJournal::forget(std::string_view intent_id) {
    const std::string path = incoming_ + "/" + replica_ + "." + std::string{intent_id} + ".intent";
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("remove journal entry", errno);
}

namespace {

// The replicas whose heartbeat is older than `stale` (or gone), by the file server's clock.
std::set<std::string> dead_replicas(const std::vector<Entry>& entries, const std::string& self,
                                    std::chrono::seconds stale) {
    std::optional<fs::file_time_type> now;
    std::map<std::string, fs::file_time_type> alive;
    for (const auto& e : entries) {
        if (e.kind != "alive") continue;
        alive[e.replica] = e.mtime;
        if (e.replica == self) now = e.mtime;
    }
    std::set<std::string> dead;
    if (!now) return dead;  // without our own heartbeat there is no clock to judge by
    for (const auto& e : entries) {
        if (e.replica.empty() || e.replica == self) continue;
        const auto it = alive.find(e.replica);
        if (it == alive.end() || it->second < *now - stale) dead.insert(e.replica);
    }
    return dead;
}

}  // namespace

std::vector<VolumeJournal::Orphan> VolumeJournal::claim_orphans(std::chrono::seconds stale) {
    const auto entries = list(incoming_);
    const auto dead = dead_replicas(entries, replica_, stale);
    std::vector<Orphan> orphans;
    for (const auto& e : entries) {
        const bool ours_interrupted = e.replica == replica_ && e.kind == "recovering";
        const bool theirs = dead.count(e.replica) && (e.kind == "intent" || e.kind == "recovering");
        if (!ours_interrupted && !theirs) continue;
        std::string path = incoming_ + "/" + e.name;
        if (theirs) {
            // {dead}.{intent}.intent -> {us}.{intent}.recovering; a sweeper that loses the race
            // finds the file gone.
            const std::string middle =
                e.name.substr(e.replica.size() + 1, e.name.rfind('.') - e.replica.size() - 1);
            std::string mine = incoming_ + "/" + replica_ + "." + middle + ".recovering";
            if (::rename(path.c_str(), mine.c_str()) != 0) continue;
            path = std::move(mine);
        }
        auto intent = intent_of(path);
        if (!intent) {
            ::unlink(path.c_str());  // unreadable: nothing can be done with it
            continue;
        }
        orphans.push_back({std::move(path), std::move(*intent)});
    }
    return orphans;
}

void VolumeJournal::recovered(const Orphan& orphan) { ::unlink(orphan.path.c_str()); }

std::size_t VolumeJournal::bury_dead(std::chrono::seconds stale) {
    const auto entries = list(incoming_);
    auto dead = dead_replicas(entries, replica_, stale);
    for (const auto& e : entries)  // not yet: an intent of theirs is still to be undone
        if (dead.count(e.replica) && (e.kind == "intent" || e.kind == "recovering")) dead.erase(e.replica);
    const auto legacy_before = fs::file_time_type::clock::now() - std::chrono::minutes{15};
    std::size_t removed = 0;
    // Heartbeats last: a replica is gone only once nothing of it is left.
    for (const bool heartbeats : {false, true}) {
        for (const auto& e : entries) {
            const bool legacy = e.replica.empty() && e.kind == "part" && e.mtime < legacy_before;
            if (!legacy && !(dead.count(e.replica) && (e.kind == "alive") == heartbeats)) continue;
            if (legacy && heartbeats) continue;
            if (::unlink((incoming_ + "/" + e.name).c_str()) == 0) ++removed;
        }
    }
    return removed;
}

void VolumeJournal::retire() {
    bool intents_left = false;
    for (const auto& e : list(incoming_)) {
        if (e.replica != replica_) continue;
        if (e.kind == "intent" || e.kind == "recovering") {
            intents_left = true;
            continue;
        }
        if (e.kind == "part" || e.kind == "tmp") ::unlink((incoming_ + "/" + e.name).c_str());
    }
    if (!intents_left) ::unlink((incoming_ + "/" + replica_ + ".alive").c_str());
}

}  // namespace cvgate::adapters
