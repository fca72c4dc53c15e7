using System.Diagnostics;

namespace CachifyNet.Redis.Tests.Review;

public sealed class ReviewNeverDieTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    private static (CachedFunc<int, int> f, ManualResetEventSlim refreshing, ManualResetEventSlim release) Setup(Func<CachedFunc<int, int>, CachedFunc<int, int>> bind)
    {
        var refreshing = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var calls = 0;
        var f = bind(Cachify.Wrap((int x) =>
        {
            if (Interlocked.Increment(ref calls) > 1) { refreshing.Set(); release.Wait(); }
            return calls;
        }).Ttl(TimeSpan.FromMilliseconds(300)).NeverDie().Timeout(TimeSpan.FromMilliseconds(1500)));
        return (f, refreshing, release);
    }

    private static void Check(CachedFunc<int, int> f, ManualResetEventSlim refreshing, ManualResetEventSlim release)
    {
        Assert.Equal(1, f.Invoke(1));
        Assert.True(refreshing.Wait(TimeSpan.FromSeconds(5)), "the refresh started");
        var w = Stopwatch.StartNew();
        var call = Task.Run(() => { try { return f.Invoke(1, skipCache: true); } catch (TimeoutException) { return -1; } });
        var done = call.Wait(TimeSpan.FromSeconds(6));
        release.Set();
        Assert.True(done, $"a skip-cache caller with Timeout(1500 ms) was still waiting after {w.Elapsed} behind a hung refresh");
    }

    [RedisFact]
    public void Memory_HungRefreshWithTimeout_SkipCacheCallerIsReleased()
    {
        var (f, r, rel) = Setup(c => c.Named("review.nd.mem"));
        Check(f, r, rel);
    }

    [RedisFact]
    public void Redis_HungRefreshWithTimeout_SkipCacheCallerIsReleased()
    {
        var (f, r, rel) = Setup(c => c.Named("review.nd.redis").Backend(Backend));
        Check(f, r, rel);
    }
}
