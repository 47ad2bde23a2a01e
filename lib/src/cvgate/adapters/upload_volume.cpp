#include <cvgate/adapters/upload_volume.hpp>

#include <cvgate/adapters/dependency_error.hpp>
#include <cvgate/exec/offload.hpp>
#include <cvgate/ids/uuid.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace cvgate::adapters {
namespace {

using clients::ErrorKind;

[[noreturn]] void fail(const char* what, int err) {
    throw volume_error(ErrorKind::unavailable, std::string{what} + ": " + std::strerror(err));
}

// Ids reach here validated; refuse anything that could leave the volume all the same.
void require_safe_name(std::string_view name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        throw volume_error(ErrorKind::rejected, "unsafe name refused");
}

void fsync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("open directory", errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) fail("fsync directory", err);
}

// Bytes handed to the blocking pool in one write(2). Large enough that the thread hop and
// the system call are a small part of each batch, small enough that an upload in flight
// holds little: at most one batch being filled and one being written.
constexpr std::size_t batch_size = 1 << 20;

// Unsynced bytes on a file that start a background fdatasync while the upload goes on. On a
// virtual disk the write-back that sync_file_range starts is cheap; what costs is making it
// durable, about 1.5 ms per MiB here. Done only by the fsync before the rename, it came after
// the last byte (100 MiB: ~160 ms to receive, then ~150 ms of fsync); synced as the bytes
// arrive, it overlaps with receiving and the last fsync finds ~4 MiB left. Small files are
// synced once, as soon as they are complete, while the next part streams in. Never per stall:
// a client trickling bytes cannot make the server flush the disk more than once per step.
constexpr std::uint64_t sync_step = 4 << 20;

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("write", errno);
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

// Write batches already mapped and touched, kept for the next files. A fresh mapping costs a
// page fault for each 4 KiB written into it, and an munmap when released: under the load mix
// (many files of ~135 KiB each) that was ~14% of cvgate's CPU. At most `cached_batches` are
// kept, process-wide: a constant few MiB, whatever the number of uploads.
constexpr std::size_t cached_batches = 4;

class BatchCache {
public:
    static BatchCache& instance() {
        static auto* cache = new BatchCache;  // never destroyed: a batch may be released at exit
        return *cache;
    }
    char* take() noexcept {
        std::lock_guard lock{mutex_};
        return count_ == 0 ? nullptr : free_[--count_];
    }
    // False when full: the caller unmaps it.
    bool keep(char* data) noexcept {
        std::lock_guard lock{mutex_};
        if (count_ == free_.size()) return false;
        free_[count_++] = data;
        return true;
    }

private:
    std::mutex mutex_;
    std::array<char*, cached_batches> free_{};
    std::size_t count_ = 0;
};

// A write batch's memory, mapped from the kernel rather than the heap: released, it goes
// back to the system at once once the cache is full (a freed heap block would stay in the
// process's RSS), so uploads that wait for their clients cost memory only for what they
// really hold. Only the pages written to are ever touched.
class Batch {
public:
    Batch() = default;
    Batch(Batch&& o) noexcept : data_{std::exchange(o.data_, nullptr)}, size_{std::exchange(o.size_, 0)} {}
    Batch& operator=(Batch&& o) noexcept {
        Batch{std::move(o)}.swap(*this);
        return *this;
    }
    ~Batch() {
        if (data_ && !BatchCache::instance().keep(data_)) ::munmap(data_, batch_size);
    }
    void swap(Batch& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
    }

    bool allocated() const noexcept { return data_ != nullptr; }
    void allocate() {
        data_ = BatchCache::instance().take();
        if (data_) return;
        void* p = ::mmap(nullptr, batch_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc{};
        data_ = static_cast<char*>(p);
    }
    // Appends what fits; returns how much did.
    std::size_t append(std::string_view bytes) noexcept {
        const std::size_t n = std::min(bytes.size(), batch_size - size_);
        std::memcpy(data_ + size_, bytes.data(), n);
        size_ += n;
        return n;
    }
    bool full() const noexcept { return size_ == batch_size; }
    bool empty() const noexcept { return size_ == 0; }
    void clear() noexcept { size_ = 0; }
    const char* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    char* data_ = nullptr;
    std::size_t size_ = 0;
};

// A staged file and the batches on their way to it. Touched on the I/O thread, except by
// the write and the sync in flight (fd only) and place_at (on the pool, once neither is in flight).
// Shared with that write, so a file dropped mid-write is closed and removed only after it.
struct StagedState : std::enable_shared_from_this<StagedState> {
    StagedState(int f, std::string p, exec::BlockingPool& bp, std::shared_ptr<const clients::CallObserver> o)
        : fd{f}, path{std::move(p)}, pool{bp}, observer{std::move(o)} {}
    ~StagedState() {
        if (fd < 0 && placed) return;
        // Never placed: remove it, off the I/O thread.
        boost::asio::post(pool.executor(), [f = fd, p = std::move(path), was_placed = placed] {
            if (f >= 0) ::close(f);
            if (!was_placed) ::unlink(p.c_str());
        });
    }

    // Hands `filling` to the pool; the I/O thread carries on receiving meanwhile.
    void start_write() {
        writing = true;
        Batch batch;
        batch.swap(filling);
        const auto offset = static_cast<off_t>(handed);
        handed += batch.size();
        boost::asio::post(pool.executor(), [self = shared_from_this(), batch = std::move(batch),
                                            offset]() mutable {
            std::exception_ptr error;
            const auto start = std::chrono::steady_clock::now();
            try {
                write_all(self->fd, batch.data(), batch.size());
                // Start the write-back now, so the fsync before placing waits for little.
                ::sync_file_range(self->fd, offset, static_cast<off_t>(batch.size()), SYNC_FILE_RANGE_WRITE);
            } catch (...) {
                error = std::current_exception();
            }
            self->report_write("write", std::chrono::steady_clock::now() - start, error);
            self->go_home([self, batch = std::move(batch), error]() mutable {
                self->written(std::move(batch), error);
            });
        });
    }

    // Makes what is on the file durable, on the pool, while the I/O thread receives the rest.
    void start_sync() {
        syncing = true;
        boost::asio::post(pool.executor(), [self = shared_from_this(), upto = on_file] {
            std::exception_ptr error;
            const auto start = std::chrono::steady_clock::now();
            try {
                if (::fdatasync(self->fd) != 0) fail("fdatasync", errno);
            } catch (...) {
                error = std::current_exception();
            }
            self->report_write("sync", std::chrono::steady_clock::now() - start, error);
            self->go_home([self, upto, error] { self->synced(upto, error); });
        });
    }

    // On the pool: `done` runs on the receiving I/O thread, unless the file was dropped, whose
    // I/O thread may be gone (a shutdown): then nothing goes home.
    template <typename Done>
    void go_home(Done done) {
        std::lock_guard lock{home_mutex};
        if (abandoned) return;
        boost::asio::post(*io, std::move(done));
    }

    // On the pool: the observer told of one batch written or synced. A failure has no client's
    // kind: the volume fails as the domain's DependencyError.
    void report_write(const char* operation, std::chrono::steady_clock::duration took,
                      const std::exception_ptr& e) const {
        if (*observer) (*observer)(clients::CallRecord{operation, operation, took, !e, std::nullopt});
    }

    // On the I/O thread, when the sync in flight is done.
    void synced(std::uint64_t upto, std::exception_ptr e) {
        if (abandoned) return;
        syncing = false;
        synced_upto = upto;
        if (e && !error) error = e;
        maybe_sync();
        if (wake) wake->cancel();
    }

    // One sync at a time, each once a step's worth is on the file, or the file is complete.
    void maybe_sync() {
        if (syncing || error || !io) return;
        const std::uint64_t unsynced = on_file - synced_upto;
        if (unsynced >= sync_step || (complete && unsynced > 0 && !writing && filling.empty())) start_sync();
    }

    // On the I/O thread, when the write in flight is done.
    void written(Batch batch, std::exception_ptr e) {
        if (abandoned) return;
        writing = false;
        on_file += batch.size();
        if (e && !error) error = e;
        if (!error && idle && !filling.empty()) {
            start_write();  // what arrived before the client paused
        } else if (!idle) {
            batch.clear();
            spare.swap(batch);  // the next batch reuses it: no allocation per batch
        } else if (filling.empty()) {
            Batch{}.swap(filling);  // still no byte since the flush: keep no buffer
            Batch{}.swap(spare);
        }
        maybe_sync();
        if (wake) wake->cancel();
    }

    // A buffer to receive into, at most two per file (one filling, one on the pool).
    void ensure_filling() {
        if (filling.allocated()) return;
        filling.swap(spare);
        if (!filling.allocated()) filling.allocate();
    }

    // Until the write in flight, and the sync too when `and_synced`, is done.
    boost::asio::awaitable<void> wait_written(bool and_synced = false) {
        while (writing || (and_synced && syncing)) {
            wake->expires_at(boost::asio::steady_timer::time_point::max());
            co_await wake->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        }
        if (error) std::rethrow_exception(error);
    }

    int fd;
    std::string path;
    exec::BlockingPool& pool;
    std::shared_ptr<const clients::CallObserver> observer;
    bool placed = false;
    std::optional<boost::asio::any_io_executor> io;  // the receiving I/O thread
    boost::asio::steady_timer* wake = nullptr;       // the file's: wakes a coroutine waiting for `writing`
    std::mutex home_mutex;                           // orders `abandoned` against posts to `io`
    bool abandoned = false;                          // the file was dropped: written() is not wanted
    Batch filling;                                   // received, not yet handed to the pool
    Batch spare;                                     // the last batch written, kept for reuse
    std::uint64_t handed = 0;                        // bytes handed to the pool so far
    std::uint64_t on_file = 0;                       // bytes written to the file
    std::uint64_t synced_upto = 0;                   // bytes made durable by a finished sync
    bool writing = false;                            // a batch is on the pool
    bool syncing = false;                            // an fdatasync is on the pool
    bool complete = false;                           // every byte of the file has arrived
    bool idle = false;         // flushed since the last write: keep no buffer, write what is left
    std::exception_ptr error;  // the first failed write or sync
};

class VolumeFile final : public jobs::StagedFile {
public:
    VolumeFile(int fd, std::string path, exec::BlockingPool& pool,
               std::shared_ptr<const clients::CallObserver> observer)
        : state_{std::make_shared<StagedState>(fd, std::move(path), pool, std::move(observer))} {}
    ~VolumeFile() override {
        // A write still in flight finishes on the pool and closes the file after it; it no
        // longer reports back to this thread, whose io_context may be going away.
        std::lock_guard lock{state_->home_mutex};
        state_->abandoned = true;
        state_->wake = nullptr;
    }
    VolumeFile(const VolumeFile&) = delete;
    VolumeFile& operator=(const VolumeFile&) = delete;

    jobs::Task<void> write(std::string_view chunk) override {
        auto& s = *state_;
        if (!s.io) {
            s.io.emplace(co_await boost::asio::this_coro::executor);
            wake_.emplace(*s.io);
            s.wake = &*wake_;
        }
        if (s.error) std::rethrow_exception(s.error);
        s.idle = false;
        while (!chunk.empty()) {
            if (s.filling.full()) {
                co_await s.wait_written();  // at most one batch in flight: memory stays bounded
                if (s.filling.full()) s.start_write();
            }
            s.ensure_filling();
            chunk.remove_prefix(s.filling.append(chunk));
        }
    }

    // The body stalls, or the file is complete: what was received goes to the volume
    // without waiting for a full batch, and no buffer is kept meanwhile.
    jobs::Task<void> flush() override {
        auto& s = *state_;
        s.idle = true;
        if (!s.filling.empty()) {
            if (!s.writing) s.start_write();  // else written() starts it
        } else if (!s.writing) {
            Batch{}.swap(s.filling);  // nothing in flight: give the buffers back now
            Batch{}.swap(s.spare);
        }  // else written() drops the batch if no byte came meanwhile
        co_return;
    }

    // The whole file has arrived: written out, it is synced while the request goes on.
    jobs::Task<void> complete() override {
        state_->complete = true;
        co_await flush();
        state_->maybe_sync();
    }

    // Everything received is on the file, and no write or sync is left in flight (most of it
    // is durable already; place_at's fsync makes the rest so).
    jobs::Task<void> finish() {
        auto& s = *state_;
        if (!s.io) co_return;
        s.complete = true;
        co_await s.wait_written();
        if (!s.filling.empty()) {
            s.start_write();
            co_await s.wait_written();
        }
        Batch{}.swap(s.filling);
        Batch{}.swap(s.spare);
        co_await s.wait_written(true);
    }

    // On the blocking pool, after finish(): flush, close, and move to `target` without
    // replacing anything.
    void place_at(const std::string& target) {
        auto& s = *state_;
        if (::fsync(s.fd) != 0) fail("fsync", errno);
        ::close(s.fd);
        s.fd = -1;
        if (::renameat2(AT_FDCWD, s.path.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST) throw volume_error(ErrorKind::conflict, "cv file already exists");
            fail("rename", errno);
        }
        s.placed = true;
    }

private:
    std::shared_ptr<StagedState> state_;
    std::optional<boost::asio::steady_timer> wake_;  // lives and dies on the I/O thread
};

}  // namespace

UploadVolume::UploadVolume(std::string root, exec::BlockingPool& pool, clients::CallObserver observer)
    : root_{std::move(root)},
      pool_{pool},
      observer_{std::make_shared<const clients::CallObserver>(std::move(observer))} {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    incoming_ = root_ + "/.incoming";
    std::error_code ec;
    std::filesystem::create_directories(incoming_, ec);
    if (ec) throw volume_error(ErrorKind::unavailable, "cannot create the upload directory: " + ec.message());
    journal_ = std::make_unique<VolumeJournal>(incoming_);
}

template <typename Work>
auto UploadVolume::run(std::string_view operation, Work work) {
    auto call = exec::offload(pool_.executor(), std::move(work));
    return clients::observed(*observer_, operation, operation, std::move(call));
}

std::string UploadVolume::job_dir(std::string_view job_id) const {
    require_safe_name(job_id);
    return root_ + "/" + std::string{job_id};
}

jobs::Task<std::unique_ptr<jobs::StagedFile>> UploadVolume::stage() {
    std::string path = journal_->staged_path(ids::uuid_v4());
    auto work = [path, incoming = incoming_] {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno == ENOENT) {
            // The staging directory was removed under us (an operator, a clean-up job): make it again.
            if (::mkdir(incoming.c_str(), 0755) != 0 && errno != EEXIST)
                fail("create staging directory", errno);
            fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        }
        if (fd < 0) fail("create staged file", errno);
        return fd;
    };
    const int fd = co_await run("stage", std::move(work));
    co_return std::make_unique<VolumeFile>(fd, std::move(path), pool_, observer_);
}

jobs::Task<std::vector<std::string>> UploadVolume::place(std::string_view job_id,
                                                         std::vector<jobs::Placement> files) {
    const std::string dir = job_dir(job_id);
    for (const auto& f : files) require_safe_name(f.name);
    for (const auto& f : files) co_await static_cast<VolumeFile*>(f.file)->finish();
    auto work = [dir, root = root_, files = std::move(files)] {
        bool created = ::mkdir(dir.c_str(), 0755) == 0;
        if (!created && errno != EEXIST) fail("create job directory", errno);
        std::vector<std::string> paths;
        try {
            for (const auto& f : files) {
                std::string target = dir + "/" + f.name;
                static_cast<VolumeFile*>(f.file)->place_at(target);
                paths.push_back(std::move(target));
            }
        } catch (...) {
            // All or nothing, and never someone else's file: only what this call placed goes.
            for (const auto& placed : paths) ::unlink(placed.c_str());
            throw;
        }
        fsync_path(dir);
        if (created) fsync_path(root);
        return paths;
    };
    // Deaf to the caller's deadline (exec::offload_to_end): the files are placed or not, never half.
    auto call = exec::offload_to_end(pool_.executor(), std::move(work));
    co_return co_await clients::observed(*observer_, "place", "place", std::move(call));
}

jobs::Task<void> UploadVolume::remove(std::string_view job_id, std::vector<std::string> names) {
    const std::string dir = job_dir(job_id);
    for (const auto& n : names) require_safe_name(n);
    auto work = [dir, names = std::move(names)] {
        for (const auto& n : names) {
            const std::string path = dir + "/" + n;
            if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("remove file", errno);
        }
        if (::access(dir.c_str(), F_OK) == 0) fsync_path(dir);
    };
    co_await run("remove", std::move(work));
}

jobs::Task<void> UploadVolume::remove_job(std::string_view job_id) {
    const std::string dir = job_dir(job_id);
    auto work = [dir] {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        if (ec) throw volume_error(ErrorKind::unavailable, "remove job directory: " + ec.message());
    };
    co_await run("remove_job", std::move(work));
}

jobs::Task<std::size_t> UploadVolume::remove_cv(std::string_view job_id, std::string_view cv_id) {
    const std::string dir = job_dir(job_id);
    require_safe_name(cv_id);
    auto work = [dir, cv = std::string{cv_id}] {
        std::size_t removed = 0;
        for (const char* ext : {".pdf", ".docx"}) {
            const std::string path = dir + "/" + cv + ext;
            if (::unlink(path.c_str()) == 0)
                ++removed;
            else if (errno != ENOENT)
                fail("remove file", errno);
        }
        return removed;
    };
    co_return co_await run("remove_cv", std::move(work));
}

jobs::Task<std::int64_t> UploadVolume::next_cv_index(std::string_view job_id) {
    const std::string dir = job_dir(job_id);
    auto work = [dir, prefix = std::string{job_id.substr(0, 8)} + "_"] {
        std::int64_t next = 0;
        DIR* d = ::opendir(dir.c_str());
        if (!d) {
            if (errno == ENOENT) return next;
            fail("read job directory", errno);
        }
        while (const dirent* e = ::readdir(d)) {
            std::string_view name{e->d_name};
            if (name.substr(0, prefix.size()) != prefix) continue;
            name.remove_prefix(prefix.size());
            std::int64_t index = 0;
            std::size_t digits = 0;
            while (digits < name.size() && digits < 12 && name[digits] >= '0' && name[digits] <= '9')
                index = index * 10 + (name[digits++] - '0');
            if (digits == 0 || (name.substr(digits) != ".pdf" && name.substr(digits) != ".docx")) continue;
            next = std::max(next, index + 1);
        }
        ::closedir(d);
        return next;
    };
    co_return co_await run("next_cv_index", std::move(work));
}

jobs::Task<void> UploadVolume::check_writable() {
    // The probe goes to the volume's root: a missing staging directory is not an unwritable
    // volume (stage() re-creates it), so it is re-created here too rather than reported.
    auto work = [probe = root_ + "/.ready-" + ids::uuid_v4(), incoming = incoming_] {
        if (::mkdir(incoming.c_str(), 0755) != 0 && errno != EEXIST) fail("volume not writable", errno);
        const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) fail("volume not writable", errno);
        const bool ok = ::write(fd, "ok", 2) == 2;
        const int err = errno;
        ::close(fd);
        ::unlink(probe.c_str());
        if (!ok) fail("volume not writable", err);
    };
    co_await run("check_writable", std::move(work));
}

// The work is named first: see the GCC 12 note in exec/offload.hpp.
jobs::Task<void> UploadVolume::record(const jobs::Intent& intent) {
    auto work = [j = journal_.get(), intent] { j->record(intent); };
    co_await run("record", std::move(work));
}

jobs::Task<void> UploadVolume::forget(std::string_view intent_id) {
    auto work = [j = journal_.get(), id = std::string{intent_id}] { j->forget(id); };
    co_await run("forget", std::move(work));
}

std::size_t UploadVolume::staged_on_disk() const {
    std::error_code ec;
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator{incoming_, ec})
        if (entry.path().extension() == ".part") ++n;
    return n;
}

}  // namespace cvgate::adapters
