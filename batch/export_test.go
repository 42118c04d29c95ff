package batch

// Len is the number of claims added to b, for the tests.
func (b *Builder) Len() int { return b.n }
