// Memory for buffers sized for the worst case and mostly used far less (the
// ring a fork's audio crosses between threads, the audio kept through an
// outage): mapped straight from the kernel, zeroed, and resident only in the
// pages that were written. Heap memory would be resident whole (a vector
// writes every byte it makes, and recycled heap pages were written before).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace voxfork::stream::detail {

class MappedBytes {
public:
    static std::size_t page_size() {
        static const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        return page;
    }
    static std::size_t round_to_pages(std::size_t size) {
        return (std::max<std::size_t>(size, 1) + page_size() - 1) / page_size() * page_size();
    }

    // `size` bytes (the mapping is whole pages).
    explicit MappedBytes(std::size_t size) : size_(size), mapped_(round_to_pages(size)) {
        void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        data_ = static_cast<std::uint8_t*>(p);
    }
    MappedBytes(const MappedBytes&) = delete;
    MappedBytes& operator=(const MappedBytes&) = delete;
    ~MappedBytes() { ::munmap(data_, mapped_); }

    std::uint8_t* data() noexcept { return data_; }
    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

    // The whole pages in [from, to) go back to the kernel (they read as
    // zeros and cost nothing until written again).
    void release(std::size_t from, std::size_t to) noexcept {
        from = (from + page_size() - 1) / page_size() * page_size();
        to = std::min(to, mapped_) / page_size() * page_size();
        if (from < to) ::madvise(data_ + from, to - from, MADV_DONTNEED);
    }

    // Bytes of it in memory now.
    std::size_t resident() const {
        std::vector<unsigned char> pages(mapped_ / page_size());
        if (::mincore(data_, mapped_, pages.data()) != 0) return 0;
        return static_cast<std::size_t>(std::count_if(pages.begin(), pages.end(), [](unsigned char p) { return p & 1; })) *
               page_size();
    }

private:
    std::uint8_t* data_ = nullptr;
    std::size_t size_;
    std::size_t mapped_;
};

}  // namespace voxfork::stream::detail
