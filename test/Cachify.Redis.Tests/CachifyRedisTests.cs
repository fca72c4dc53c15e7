using System.Diagnostics;

namespace CachifyNet.Redis.Tests;

/// <summary>The global setup and UseRedis(). They change static state, so they run alone.</summary>
[Collection(nameof(GlobalRedisSetup))]
public sealed class CachifyRedisTests : RedisTestBase
{
    public CachifyRedisTests(RedisServerFixture fixture)
        : base(fixture)
    {
        CachifyRedis.Reset();
    }

    [Fact]
    public void Backend_BeforeConfigure_ThrowsNamingConfigure()
    {
        CachifyRedis.Reset();
        Assert.False(CachifyRedis.IsConfigured);
        var error = Assert.Throws<InvalidOperationException>(() => CachifyRedis.Backend);
        Assert.Contains("CachifyRedis.Configure", error.Message, StringComparison.Ordinal);
    }

    [RedisFact]
    public void Configure_Twice_ThrowsUntilReset()
    {
        try
        {
            var backend = CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });
            Assert.Same(backend, CachifyRedis.Backend);
            Assert.True(CachifyRedis.IsConfigured);
            Assert.Contains("Reset", Assert.Throws<InvalidOperationException>(() => CachifyRedis.Configure(Fixture.Connection)).Message, StringComparison.Ordinal);

            CachifyRedis.Reset();
            var again = CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });
            Assert.NotSame(backend, again);
            Assert.Throws<ObjectDisposedException>(() => Cachify.Wrap((int x) => x).Named("gone").Backend(backend)); // Reset disposed it
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }

    [RedisFact]
    public async Task UseRedis_CreatedBeforeConfigure_BindsAtTheFirstCall()
    {
        // Like a static field initialised before Main configures Redis.
        var calls = 0;
        var f = Cachify.Wrap((int id) => Interlocked.Increment(ref calls)).Named("lazy").NoSelf().UseRedis();
        var g = Cachify.Wrap((int id) => Task.FromResult(-id)).Named("lazy.async").NoSelf().UseRedis();

        Assert.Contains("CachifyRedis.Configure", Assert.Throws<InvalidOperationException>(() => f.Invoke(1)).Message, StringComparison.Ordinal);
        try
        {
            CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });
            Assert.Equal(1, f.Invoke(1));
            Assert.Equal(1, f.Invoke(1));
            Assert.Equal(-1, await g.Invoke(1));
            Assert.Equal([$"{Prefix}:{{lazy.async:1}}", $"{Prefix}:{{lazy:1}}"], Keys());
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }

    [RedisFact]
    public async Task UseRedis_ExistsForEveryWrapperType()
    {
        try
        {
            CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });
            Assert.Equal(0, Cachify.Wrap(() => 0).Named("u0").NoSelf().UseRedis().Invoke());
            Assert.Equal(1, Cachify.Wrap((int a) => a).Named("u1").NoSelf().UseRedis().Invoke(1));
            Assert.Equal(2, Cachify.Wrap((int a, int b) => b).Named("u2").NoSelf().UseRedis().Invoke(1, 2));
            Assert.Equal(3, Cachify.Wrap((int a, int b, int c) => c).Named("u3").NoSelf().UseRedis().Invoke(1, 2, 3));
            Assert.Equal(4, Cachify.Wrap((int a, int b, int c, int d) => d).Named("u4").NoSelf().UseRedis().Invoke(1, 2, 3, 4));
            Assert.Equal(5, Cachify.Wrap((int a, int b, int c, int d, int e) => e).Named("u5").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5));
            Assert.Equal(6, Cachify.Wrap((int a, int b, int c, int d, int e, int f) => f).Named("u6").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5, 6));
            Assert.Equal(7, Cachify.Wrap((int a, int b, int c, int d, int e, int f, int g) => g).Named("u7").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5, 6, 7));
            Assert.Equal(8, Cachify.Wrap((int a, int b, int c, int d, int e, int f, int g, int h) => h).Named("u8").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5, 6, 7, 8));
            Assert.Equal(0, await Cachify.Wrap(() => Task.FromResult(0)).Named("a0").NoSelf().UseRedis().Invoke());
            Assert.Equal(1, await Cachify.Wrap((int a) => Task.FromResult(a)).Named("a1").NoSelf().UseRedis().Invoke(1));
            Assert.Equal(2, await Cachify.Wrap((int a, int b) => Task.FromResult(b)).Named("a2").NoSelf().UseRedis().Invoke(1, 2));
            Assert.Equal(3, await Cachify.Wrap((int a, int b, int c) => Task.FromResult(c)).Named("a3").NoSelf().UseRedis().Invoke(1, 2, 3));
            Assert.Equal(4, await Cachify.Wrap((int a, int b, int c, int d) => Task.FromResult(d)).Named("a4").NoSelf().UseRedis().Invoke(1, 2, 3, 4));
            Assert.Equal(5, await Cachify.Wrap((int a, int b, int c, int d, int e) => Task.FromResult(e)).Named("a5").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5));
            Assert.Equal(6, await Cachify.Wrap((int a, int b, int c, int d, int e, int f) => Task.FromResult(f)).Named("a6").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5, 6));
            Assert.Equal(7, await Cachify.Wrap((int a, int b, int c, int d, int e, int f, int g) => Task.FromResult(g)).Named("a7").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5, 6, 7));
            Assert.Equal(8, await Cachify.Wrap((int a, int b, int c, int d, int e, int f, int g, int h) => Task.FromResult(h)).Named("a8").NoSelf().UseRedis().Invoke(1, 2, 3, 4, 5, 6, 7, 8));
            Assert.Equal(18, Keys().Count);
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }

    [RedisFact]
    public async Task UseRedis_TrailingTokenWrappers_KeyWithoutTheToken()
    {
        try
        {
            CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });
            var calls = 0;
            var f = Cachify.Wrap((int id, CancellationToken ct) => Task.FromResult(id + Interlocked.Increment(ref calls))).Named("t.async").NoSelf().UseRedis();
            var g = Cachify.Wrap((int id, CancellationToken ct) => id * 2).Named("t.sync").NoSelf().UseRedis();
            using var cts = new CancellationTokenSource();

            Assert.Equal(8, await f.Invoke(7, cts.Token));
            Assert.Equal(8, await f.Invoke(7));                                  // another token, same entry
            await f.InvalidateAsync(7);
            Assert.Equal(9, await f.Invoke(7, cts.Token));
            Assert.Equal(14, g.Invoke(7, cts.Token));
            g.Invalidate(7);
            Assert.Equal(14, g.Invoke(7));
            Assert.Equal(2, calls);
            Assert.Contains($"{Prefix}:{{t.async:7}}", Keys());
            Assert.Contains($"{Prefix}:{{t.sync:7}}", Keys());
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }

    [RedisFact]
    public void UseRedis_KeepsTheDefaultTtlOfAnInjectedCachify()
    {
        using var memory = new MemoryCacheBackend();
        var injected = new FixedCachify(TimeSpan.FromSeconds(42), memory);
        try
        {
            CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });
            var f = injected.Wrap((int x) => x).Named("injected.ttl").NoSelf().UseRedis();
            var written = Stopwatch.StartNew();
            f.Invoke(1);
            AssertExpiresIn($"{Prefix}:{{injected.ttl:1}}", TimeSpan.FromSeconds(42), written);
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }

    [Fact]
    public void UseRedis_ChecksTheKeyRulesAtOnce()
    {
        var factor = 2;
        var closure = Cachify.Wrap((int x) => x * factor);
        var error = Assert.Throws<ArgumentException>(() => closure.UseRedis());
        Assert.Contains(".NoSelf()", error.Message, StringComparison.Ordinal);
        Assert.Equal("cached", error.ParamName);

        Assert.Throws<ArgumentException>(() => Cachify.Wrap((object o) => 1).Named("obj").UseRedis());
        Assert.Throws<ArgumentNullException>(() => ((CachedFunc<int, int>)null!).UseRedis());
    }

    [RedisFact]
    public void UseRedis_ReplacesAnExplicitBackend_AndBackendAfterwardsWins()
    {
        using var memory = new MemoryCacheBackend();
        try
        {
            CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });
            Cachify.Wrap((int x) => x).Named("first.memory").NoSelf().Backend(memory).UseRedis().Invoke(1);
            Cachify.Wrap((int x) => x).Named("redis.then.memory").NoSelf().UseRedis().Backend(memory).Invoke(1);
            Assert.Equal([$"{Prefix}:{{first.memory:1}}"], Keys());
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }
}

/// <summary>An <see cref="ICachify"/> as dependency injection would provide it.</summary>
internal sealed class FixedCachify(TimeSpan ttl, ICacheBackend backend) : ICachify
{
    public TimeSpan DefaultTtl => ttl;

    public ICacheBackend Backend => backend;
}

/// <summary>Tests that change <see cref="CachifyRedis"/>'s global state run alone.</summary>
[CollectionDefinition(nameof(GlobalRedisSetup), DisableParallelization = true)]
public sealed class GlobalRedisSetup;
