using Xunit;

// The integration specs start real clusters of OS processes; on a 2-core machine running them side by side
// would make them compete for CPU with each other's heartbeats. One at a time keeps their deadlines honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
