// Atomic replacement of output files: unique temporary in the same folder, fsync, rename, fsync of the
// folder (POSIX).
#include "rewire/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "rewire/core/error.hpp"

namespace rewire {
namespace {

/// `<target>.<16 hex digits>.part`: random bits and a per-process counter, so that threads and
/// processes (also on other hosts sharing the folder) pick different names; O_EXCL settles the rest.
std::string temporary_name(const std::string& target) {
    static std::atomic<std::uint64_t> counter{0};
    thread_local std::mt19937_64 random{std::random_device{}()};
    const std::uint64_t bits =
        random() ^ (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull) ^ static_cast<std::uint64_t>(::getpid());
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".%016llx.part", static_cast<unsigned long long>(bits));
    return target + suffix;
}

/// fsync of `path` (a file, or a folder with O_DIRECTORY); returns errno, 0 on success.
int sync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0)
        return errno;
    const int status = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return status;
}

}  // namespace

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::string name = temporary_name(target_);
        const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            ::close(fd);
            temporary_ = name;
            return;
        }
        if (errno != EEXIST)
            throw IoError(target_ + ": cannot create a temporary file beside it: " + std::strerror(errno));
    }
    throw IoError(target_ + ": cannot create a temporary file beside it: every name tried exists");
}

AtomicFile::~AtomicFile() {
    discard();
}

void AtomicFile::discard() noexcept {
    if (!temporary_.empty())
        ::unlink(temporary_.c_str());
    temporary_.clear();
}

void AtomicFile::commit() {
    if (temporary_.empty())
        throw IoError(target_ + ": nothing to move into place (already committed or abandoned)");
    const char* what = "cannot flush the written file to disk";
    int error = sync_path(temporary_, 0);
    if (error == 0 && ::rename(temporary_.c_str(), target_.c_str()) != 0) {
        error = errno;
        what = "cannot move the finished file into place";
    }
    if (error != 0) {
        discard();
        throw IoError(target_ + ": " + what + ": " + std::strerror(error));
    }
    temporary_.clear();
    // The rename lives in the folder: flush it too. Some file systems cannot sync a folder; the file is in
    // place either way, so this is best effort.
    const std::string folder = std::filesystem::path(target_).parent_path().string();
    sync_path(folder.empty() ? "." : folder, O_DIRECTORY);
}

void write_atomically(const std::string& target,
                      const std::function<void(const std::string& temporary)>& write) {
    AtomicFile file(target);
    write(file.temporary());
    file.commit();
}

}  // namespace rewire
