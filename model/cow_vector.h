// A fixed-size vector whose copies share storage in blocks, copied on write.
//
// Node state changes a few nodes at a time while every reader wants its own consistent copy of all
// of them. CowVector keeps its elements in blocks of kBlockSize shared between copies: a copy costs
// one pointer per block (O(size / kBlockSize)); the first write to a block that another copy still
// shares clones that one block (O(kBlockSize)). Reads are one division away from a plain vector.
//
// Thread safety: like a std::vector. Distinct copies may be read and written from different threads
// at once (a shared block is never written; it is cloned first); one object is not safe to write
// while it is read.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

namespace topoplace {

template <typename T>
class CowVector {
 public:
  static constexpr int kBlockBits = 10;
  static constexpr int kBlockSize = 1 << kBlockBits;

  CowVector() = default;
  CowVector(int size, const T& value) { Assign(size, value); }

  void Assign(int size, const T& value) {
    size_ = size;
    blocks_.clear();
    const int count = (size + kBlockSize - 1) / kBlockSize;
    if (count == 0) return;
    // Every block starts as the same shared block of `value`; writes split them apart.
    auto filled = std::make_shared<Block>();
    filled->fill(value);
    blocks_.assign(count, filled);
  }

  int size() const { return size_; }
  const T& operator[](int i) const { return (*blocks_[i >> kBlockBits])[i & (kBlockSize - 1)]; }
  // A writable element: clones its block first when another copy shares it.
  T& Mutable(int i) {
    std::shared_ptr<Block>& block = blocks_[i >> kBlockBits];
    if (block.use_count() > 1) block = std::make_shared<Block>(*block);
    return (*block)[i & (kBlockSize - 1)];
  }
  void Set(int i, const T& value) {
    if (!((*this)[i] == value)) Mutable(i) = value;
  }

  int block_count() const { return static_cast<int>(blocks_.size()); }
  // Blocks this vector and `other` hold in common (the same storage, not equal contents): what
  // a copy still shares with its original.
  int BlocksSharedWith(const CowVector& other) const {
    int shared = 0;
    for (size_t b = 0; b < blocks_.size() && b < other.blocks_.size(); ++b)
      shared += blocks_[b] == other.blocks_[b];
    return shared;
  }

 private:
  using Block = std::array<T, kBlockSize>;
  int size_ = 0;
  std::vector<std::shared_ptr<Block>> blocks_;
};

}  // namespace topoplace
