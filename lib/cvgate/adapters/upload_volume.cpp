#include <cvgate/adapters/upload_volume.hpp>

#include <cvgate/clients/client_error.hpp>
#include <cvgate/exec/offload.hpp>
#include <cvgate/ids/uuid.hpp>

#include <boost/asio/post.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace cvgate::adapters {
namespace {

using clients::ClientError;
using clients::ErrorKind;

[[noreturn]] void fail(const char* what, int err) {
    throw ClientError{ErrorKind::unavailable, "volume", std::string{what} + ": " + std::strerror(err)};
}

// Ids reach here validated; refuse anything that could leave the volume all the same.
void require_safe_name(std::string_view name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos)
        throw ClientError{ErrorKind::rejected, "volume", "unsafe name refused"};
}

void fsync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("open directory", errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) fail("fsync directory", err);
}

class VolumeFile final : public jobs::StagedFile {
public:
    VolumeFile(int fd, std::string path, exec::BlockingPool& pool)
        : fd_{fd}, path_{std::move(path)}, pool_{pool} {}
    ~VolumeFile() override {
        if (fd_ < 0 && placed_) return;
        // Never placed: remove it, off the I/O thread.
        boost::asio::post(pool_.executor(), [fd = fd_, path = std::move(path_), placed = placed_] {
            if (fd >= 0) ::close(fd);
            if (!placed) ::unlink(path.c_str());
        });
    }

    jobs::Task<void> write(std::string_view chunk) override {
        auto work = [fd = fd_, chunk] {
            std::string_view rest = chunk;
            while (!rest.empty()) {
                const ssize_t n = ::write(fd, rest.data(), rest.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) fail("write", errno);
                rest.remove_prefix(static_cast<std::size_t>(n));
            }
        };
        co_await exec::offload(pool_.executor(), std::move(work));
    }

    // On the blocking pool: flush, close, and move to `target` without replacing anything.
    void place_at(const std::string& target) {
        if (::fsync(fd_) != 0) fail("fsync", errno);
        ::close(fd_);
        fd_ = -1;
        if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST) throw ClientError{ErrorKind::conflict, "volume", "cv file already exists"};
            fail("rename", errno);
        }
        placed_ = true;
    }

private:
    int fd_;
    std::string path_;
    exec::BlockingPool& pool_;
    bool placed_ = false;
};

}  // namespace

UploadVolume::UploadVolume(std::string root, exec::BlockingPool& pool)
    : root_{std::move(root)}, incoming_{root_ + "/.incoming"}, pool_{pool} {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    incoming_ = root_ + "/.incoming";
    std::error_code ec;
    std::filesystem::create_directories(incoming_, ec);
    if (ec)
        throw ClientError{ErrorKind::unavailable, "volume",
                          "cannot create the upload directory: " + ec.message()};
    journal_ = std::make_unique<VolumeJournal>(incoming_);
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
    const int fd = co_await exec::offload(pool_.executor(), std::move(work));
    co_return std::make_unique<VolumeFile>(fd, std::move(path), pool_);
}

jobs::Task<std::vector<std::string>> UploadVolume::place(std::string_view job_id,
                                                         std::vector<jobs::Placement> files) {
    const std::string dir = job_dir(job_id);
    for (const auto& f : files) require_safe_name(f.name);
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
    co_return co_await exec::offload(pool_.executor(), std::move(work));
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
    co_await exec::offload(pool_.executor(), std::move(work));
}

jobs::Task<void> UploadVolume::remove_job(std::string_view job_id) {
    const std::string dir = job_dir(job_id);
    auto work = [dir] {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        if (ec) throw ClientError{ErrorKind::unavailable, "volume", "remove job directory: " + ec.message()};
    };
    co_await exec::offload(pool_.executor(), std::move(work));
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
    co_return co_await exec::offload(pool_.executor(), std::move(work));
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
    co_return co_await exec::offload(pool_.executor(), std::move(work));
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
    co_await exec::offload(pool_.executor(), std::move(work));
}

// The work is named before the co_await: GCC 12 destroys a lambda temporary inside a co_await
// expression twice.
jobs::Task<void> UploadVolume::record(const jobs::Intent& intent) {
    auto work = [j = journal_.get(), intent] { j->record(intent); };
    co_await exec::offload(pool_.executor(), std::move(work));
}

jobs::Task<void> UploadVolume::forget(std::string_view intent_id) {
    auto work = [j = journal_.get(), id = std::string{intent_id}] { j->forget(id); };
    co_await exec::offload(pool_.executor(), std::move(work));
}

std::size_t UploadVolume::staged_on_disk() const {
    std::error_code ec;
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator{incoming_, ec})
        if (entry.path().extension() == ".part") ++n;
    return n;
}

}  // namespace cvgate::adapters
