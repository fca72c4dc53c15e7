using System.Diagnostics;
using CachifyNet.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

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
            Assert.Equal([Generation(Prefix, "lazy.async"), Generation(Prefix, "lazy"), Value(Prefix, "lazy.async", "1"), Value(Prefix, "lazy", "1")], Keys());
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
            Assert.Equal(18, Keys().Count(k => k.StartsWith($"{{{Prefix}:v:", StringComparison.Ordinal)));  // a value per wrapper...
            Assert.Equal(18, Keys().Count(k => k.StartsWith($"{{{Prefix}:g:", StringComparison.Ordinal)));  // ...and its generation
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
            Assert.Contains(Value(Prefix, "t.async", "7"), Keys());
            Assert.Contains(Value(Prefix, "t.sync", "7"), Keys());
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
            AssertExpiresIn(Value(Prefix, "injected.ttl", "1"), TimeSpan.FromSeconds(42), written);
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }

    /// <summary>The Redis key of a value, as <see cref="RedisCacheBackend"/> lays it out: <c>{prefix:v:name:args}</c>.</summary>
    private static string Value(string prefix, string name, string args) => $"{{{prefix}:v:{name}:{args}}}";

    /// <summary>The Redis key of a function's generation (written with its first value): <c>{prefix:g:name}</c>.</summary>
    private static string Generation(string prefix, string name) => $"{{{prefix}:g:{name}}}";

    /// <summary>An instance method: a lambda that calls it captures this test object.</summary>
    private int Zero() => GetHashCode() & 0;

    [RedisFact]
    public void UseRedis_OptionOrderDoesNotMatter_SameIdentitySameKeysSameRefusals()
    {
        var factor = 2;
        var closure = Cachify.Wrap((int x) => x * factor + Zero()); // uses this test object: an instance
        var repo = new Repo("r");

        // Nothing is checked at the option call: options may follow UseRedis().
        var refusedBefore = closure.UseRedis();
        var refusedAfter = Cachify.Wrap((object o) => 1).UseRedis().Named("obj");
        var instance = Cachify.Wrap<int, string>(repo.Get).UseRedis();
        Assert.Throws<ArgumentNullException>(() => ((CachedFunc<int, int>)null!).UseRedis());
        try
        {
            CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = Prefix });

            // The same final settings, in both orders: the same identity and the same entries.
            var a = closure.UseRedis().Named("order").NoSelf();
            var b = closure.Named("order").NoSelf().UseRedis();
            var c = closure.NoSelf().UseRedis().Named("order");
            Assert.Equal(SharedKeyRules.Identity(b.Config), SharedKeyRules.Identity(a.Config));
            Assert.Equal(SharedKeyRules.Identity(b.Config), SharedKeyRules.Identity(c.Config));
            Assert.Equal(4, a.Invoke(2));
            Assert.Equal(4, b.Invoke(2));
            Assert.Equal(4, c.Invoke(2));
            Assert.Equal("r:1", Cachify.Wrap<int, string>(repo.Get).UseRedis().NoSelf().Invoke(1));
            Assert.Equal([Generation(Prefix, "order"), Value(Prefix, "order", "2")], Keys().Where(k => k.Contains("order", StringComparison.Ordinal)));

            // The same refusals, in both orders, at the first call, naming the fix.
            var closureError = Assert.Throws<ArgumentException>(() => refusedBefore.Invoke(1));
            Assert.Equal(
                Assert.Throws<ArgumentException>(() => closure.Named("c").UseRedis().Invoke(1)).Message,
                Assert.Throws<ArgumentException>(() => closure.UseRedis().Named("c").Invoke(1)).Message);
            Assert.Contains(".NoSelf()", closureError.Message, StringComparison.Ordinal);
            var objectBefore = Assert.Throws<ArgumentException>(() => Cachify.Wrap((object o) => 1).Named("obj").UseRedis().Invoke(1));
            var objectAfter = Assert.Throws<ArgumentException>(() => refusedAfter.Invoke(1));
            Assert.Equal(objectBefore.Message, objectAfter.Message);
            Assert.Contains(".IgnoreArgs(\"o\")", objectAfter.Message, StringComparison.Ordinal);
            var instanceError = Assert.Throws<ArgumentException>(() => instance.Invoke(1));
            Assert.Contains(".NoSelf()", instanceError.Message, StringComparison.Ordinal);
            Assert.Equal(instanceError.Message, Assert.Throws<ArgumentException>(() => Cachify.Wrap<int, string>(repo.Get).UseRedis().Invoke(1)).Message);
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }

    [RedisFact]
    public async Task StaticUseRedis_AfterAHostWithAddCachifyRedisStarts_UsesItsBackend_AndFollowsTheNextHost()
    {
        // Static wrappers, made before any host exists (as in a static field).
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls) * 0 + x * 10).Named("di.static").NoSelf().UseRedis();
        var g = Cachify.Wrap((int x) => Task.FromResult(-x)).Named("di.static.async").UseRedis();

        // Before a host starts, the error says what to do in a DI app and without one.
        var error = Assert.Throws<InvalidOperationException>(() => f.Invoke(1));
        Assert.Contains("services.AddCachifyRedis(", error.Message, StringComparison.Ordinal);
        Assert.Contains("start the host", error.Message, StringComparison.Ordinal);
        Assert.Contains("CachifyRedis.Configure(", error.Message, StringComparison.Ordinal);

        for (var round = 0; round < 2; round++)
        {
            var prefix = Prefix + round;
            using var host = new HostBuilder()
                .ConfigureServices(services => services
                    .AddSingleton<IConnectionMultiplexer>(Fixture.Connection)
                    .AddCachifyRedis(new RedisCacheOptions { KeyPrefix = prefix }))
                .Build();
            await host.StartAsync();

            // Nothing resolved ICachify: starting the host made the backend, and static wrappers use it.
            Assert.Same(host.Services.GetRequiredService<ICacheBackend>(), CachifyRedis.Backend);
            Assert.False(CachifyRedis.IsConfigured);
            Assert.Equal(10, f.Invoke(1));
            Assert.Equal(10, f.Invoke(1));
            Assert.Equal(-1, await g.Invoke(1));
            Assert.Equal([Generation(prefix, "di.static.async"), Generation(prefix, "di.static"), Value(prefix, "di.static.async", "1"), Value(prefix, "di.static", "1")], Keys(prefix));
            Assert.Equal(round + 1, calls);

            await host.StopAsync();
        }

        // The last host is disposed: static wrappers have no backend again, and say so.
        Assert.Contains("AddCachifyRedis", Assert.Throws<InvalidOperationException>(() => f.Invoke(1)).Message, StringComparison.Ordinal);
    }

    [RedisFact]
    public void StaticUseRedis_ResolvingICachifyWithoutAHost_AlsoRegistersTheBackend()
    {
        var f = Cachify.Wrap((int x) => x + 1).Named("di.resolved").UseRedis();
        using (var provider = new ServiceCollection()
            .AddSingleton<IConnectionMultiplexer>(Fixture.Connection)
            .AddCachifyRedis(new RedisCacheOptions { KeyPrefix = Prefix })
            .BuildServiceProvider())
        {
            var cachify = provider.GetRequiredService<ICachify>();
            Assert.Same(cachify.Backend, CachifyRedis.Backend);
            Assert.Equal(2, f.Invoke(1));
            Assert.Equal([Generation(Prefix, "di.resolved"), Value(Prefix, "di.resolved", "1")], Keys());
        }

        Assert.Throws<InvalidOperationException>(() => CachifyRedis.Backend);
    }

    [RedisFact]
    public async Task StaticUseRedis_SurvivesResetAndConfigure_FollowingTheCurrentConfiguration()
    {
        // Integration tests that set Redis up per test (or per host) and wrappers kept in static fields.
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls) * 0 + x).Named("reset.sync").NoSelf().UseRedis();
        var g = Cachify.Wrap((int x) => Task.FromResult(x * 2)).Named("reset.async").UseRedis();
        var keyed = Cachify.Wrap((int x) => x * 3).Named("reset.keyby").KeyBy(x => "k" + x).UseRedis();
        try
        {
            for (var round = 0; round < 3; round++)
            {
                var prefix = Prefix + round;
                var backend = CachifyRedis.Configure(Fixture.Connection, new RedisCacheOptions { KeyPrefix = prefix });
                Assert.Equal(7, f.Invoke(7));
                Assert.Equal(7, f.Invoke(7));
                Assert.Equal(14, await g.Invoke(7));
                Assert.Equal(21, keyed.Invoke(7));
                Assert.Same(backend.Context.Services, f.CurrentBinding!.Keyspace.Services);
                var keys = Keys(prefix);
                Assert.Equal(6, keys.Count); // three values, each with its function's generation
                Assert.Contains(Value(prefix, "reset.sync", "7"), keys);
                Assert.Contains(Value(prefix, "reset.async", "7"), keys);
                f.Invalidate(7);
                await g.InvalidateAsync(7);
                Assert.Contains(":v:reset.keyby", Assert.Single(Keys(prefix), k => k.Contains(":v:", StringComparison.Ordinal)), StringComparison.Ordinal);
                Assert.Equal(round + 1, calls);

                CachifyRedis.Reset();

                // Between Reset and the next Configure: not configured, not disposed.
                Assert.Contains("CachifyRedis.Configure", Assert.Throws<InvalidOperationException>(() => f.Invoke(7)).Message, StringComparison.Ordinal);
                await Assert.ThrowsAsync<InvalidOperationException>(() => g.Invoke(7));
            }
        }
        finally
        {
            CachifyRedis.Reset();
        }
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
            Assert.Equal([Generation(Prefix, "first.memory"), Value(Prefix, "first.memory", "1")], Keys());
        }
        finally
        {
            CachifyRedis.Reset();
        }
    }
}

internal sealed class Repo(string name)
{
    public string Get(int id) => $"{name}:{id}";
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
