using System.Runtime.CompilerServices;

namespace CachifyNet.Testing;

/// <summary>
/// Many tests call Cachify's synchronous API (and so the stores' synchronous calls) from thread-pool threads, many at
/// once, or wait on a pool thread, while StackExchange.Redis reads its replies, and store locks are renewed, on the
/// thread pool too. On a 2-core CI machine the pool starts with 2 workers and adds about one every half second, so a
/// burst of blocked callers starves the reads (calls time out after 2 s: WORKER Busy above Min, items queued) and the
/// renewals (a lock expires under its owner). As StackExchange.Redis advises for such workloads, the floor is raised for
/// the test process; no test measures the pool.
/// </summary>
internal static class ThreadPoolFloor
{
    [ModuleInitializer]
    internal static void Raise()
    {
        ThreadPool.GetMinThreads(out var workers, out var completion);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(completion, 32));
    }
}
