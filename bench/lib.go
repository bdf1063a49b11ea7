package bench

// Library is the coordinator target factory used by `phpsess bench`; nil
// until the coordinator is wired in (its rows are then reported as not
// run).
var Library LibraryFactory
