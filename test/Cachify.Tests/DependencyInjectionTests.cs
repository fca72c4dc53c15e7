using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Tests;

public class DependencyInjectionTests
{
    [Fact]
    public void AddCachify_WrapUsesTheAppsMemoryCacheClockAndOptions()
    {
        var time = new FakeTimeProvider();
        using var provider = new ServiceCollection()
            .AddSingleton<TimeProvider>(time)
            .AddCachify(o => o.DefaultTtl = TimeSpan.FromSeconds(30))
            .BuildServiceProvider();
        var cachify = provider.GetRequiredService<ICachify>();
        var appCache = (MemoryCache)provider.GetRequiredService<IMemoryCache>();
        var calls = 0;

        var f = cachify.Wrap((int x) => ++calls);
        f.Invoke(1);
        Assert.Equal(1, appCache.Count);            // the entry lives in the app's IMemoryCache
        Assert.Equal(TimeSpan.FromSeconds(30), cachify.DefaultTtl);
        Assert.IsType<MemoryCacheBackend>(cachify.Backend);

        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(1, f.Invoke(1));
        time.Advance(TimeSpan.FromSeconds(1));      // the app's TimeProvider drives the TTL
        Assert.Equal(2, f.Invoke(1));
    }

    [Fact]
    public async Task AddCachify_AsyncWrapAndStaticEntryPointCoexist()
    {
        using var provider = new ServiceCollection().AddCachify().BuildServiceProvider();
        var cachify = provider.GetRequiredService<ICachify>();

        var injected = cachify.Wrap((int x) => Task.FromResult(x + 1));
        var ambient = Cachify.Wrap((int x) => x + 2);
        Assert.Equal(2, await injected.Invoke(1));
        Assert.Equal(3, ambient.Invoke(1));
        Assert.NotSame(cachify.Backend, Cachify.DefaultBackend);
    }

    [Fact]
    public void AddCachify_TwiceKeepsOneRegistration()
    {
        var services = new ServiceCollection().AddCachify().AddCachify();
        Assert.Single(services, d => d.ServiceType == typeof(ICachify));
        Assert.Single(services, d => d.ServiceType == typeof(ICacheBackend));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task AddCachify_InvalidOptions_FailAtStartup()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddCachify(o => o.DefaultTtl = TimeSpan.Zero);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("DefaultTtl", error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Wrap_NullArguments_Throw()
    {
        using var provider = new ServiceCollection().AddCachify().BuildServiceProvider();
        var cachify = provider.GetRequiredService<ICachify>();

        Assert.Equal("func", Assert.Throws<ArgumentNullException>(() => cachify.Wrap((Func<int, int>)null!)).ParamName);
        Assert.Equal("cachify", Assert.Throws<ArgumentNullException>(() => ((ICachify)null!).Wrap((int x) => x)).ParamName);
        Assert.Throws<ArgumentNullException>(() => CachifyServiceCollectionExtensions.AddCachify(null!));
    }

    [Fact]
    public void Dispose_ServiceProvider_DisposesTheBackend()
    {
        var provider = new ServiceCollection().AddCachify().BuildServiceProvider();
        var f = provider.GetRequiredService<ICachify>().Wrap((int x) => x);
        f.Invoke(1);

        provider.Dispose();
        Assert.Throws<ObjectDisposedException>(() => f.Invoke(2));
    }
}
