package csvdata

// chunked is a list that grows by whole fixed-size chunks. Appending never copies what is
// already there, as growing a slice does, so a list of millions never has its old and new
// copies in memory at once nor leaves the old ones for the garbage collector: on a large
// file that is most of the memory a growing slice touches.
type chunked[T any] struct {
	chunks [][]T
	n      int
}

const chunkBits = 13

func (c *chunked[T]) add(v T) {
	if c.n&(1<<chunkBits-1) == 0 {
		c.chunks = append(c.chunks, make([]T, 0, 1<<chunkBits))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
}

func (c *chunked[T]) at(i int) *T { return &c.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }
