using System.Runtime.CompilerServices;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// Many tests here call Cachify's synchronous API (and so StackExchange.Redis' synchronous calls) from thread-pool
/// threads, many at once, while StackExchange.Redis reads its replies on the thread pool too. On a 2-core CI machine the
/// pool starts with 2 workers and adds about one a second, so a burst of blocked callers starves the reads and the calls
/// time out after 2 s (the client's report: WORKER Busy above Min, items queued). As StackExchange.Redis advises for
/// such workloads, the floor is raised for this test process; no test measures the pool.
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
