using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace CachifyNet.Tests;

/// <summary>
/// A wrapper made through <see cref="ICachify"/> whose target is a per-request object (a scoped or transient service)
/// keeps entries per instance, so it never hits in the next request: one warning (1005) says so at its first miss.
/// </summary>
public sealed class PerRequestTargetTests
{
    /// <summary>A service: state its public members do not show (its connection), so it is keyed by reference.</summary>
    public sealed class Repository
    {
        private readonly object _connection = new();

        public int Load(int id) => _connection is null ? 0 : id * 2;
    }

    /// <summary>The README's pattern, in a scoped service: the wrapper is made in the constructor and uses the service.</summary>
    public sealed class ScopedCatalog(ICachify cachify, Repository repository)
    {
        private readonly CachedFunc<int, int> _get = cachify.Wrap((int id) => repository.Load(id) + 1);

        public int Get(int id) => _get.Invoke(id);
    }

    /// <summary>The same, with the wrapper made over the service's own method.</summary>
    public sealed class ScopedPrices
    {
        private readonly CachedFunc<int, int> _get;

        public ScopedPrices(ICachify cachify)
        {
            _get = cachify.Wrap<int, int>(Price);
        }

        public int Price(int sku) => sku + 100;

        public int Get(int sku) => _get.Invoke(sku);
    }

    private static (ServiceProvider Provider, FakeLogCollector Logs) App(ServiceLifetime repositoryLifetime)
    {
        var logs = new FakeLogCollector();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)));
        services.AddCachify();
        if (repositoryLifetime == ServiceLifetime.Scoped)
        {
            services.AddScoped<Repository>();
        }
        else
        {
            services.AddSingleton<Repository>();
        }

        services.AddScoped<ScopedCatalog>();
        services.AddScoped<ScopedPrices>();
        return (services.BuildServiceProvider(), logs);
    }

    [Fact]
    public void Invoke_LambdaUsingAScopedService_WarnsOnceAtTheFirstMiss_NamingTheFix()
    {
        var (provider, logs) = App(ServiceLifetime.Scoped);
        using (provider)
        {
            for (var request = 0; request < 3; request++)
            {
                using var scope = provider.CreateScope();
                Assert.Equal(15, scope.ServiceProvider.GetRequiredService<ScopedCatalog>().Get(7));
            }

            var warning = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 1005);
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Contains("Repository", warning.Message, StringComparison.Ordinal);
            Assert.Contains("Scoped", warning.Message, StringComparison.Ordinal);
            Assert.Contains("AddCachedFunc", warning.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invoke_MethodOfAScopedService_WarnsOnceAtTheFirstMiss()
    {
        var (provider, logs) = App(ServiceLifetime.Singleton);
        using (provider)
        {
            using (var scope = provider.CreateScope())
            {
                Assert.Equal(107, scope.ServiceProvider.GetRequiredService<ScopedPrices>().Get(7));
            }

            var warning = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 1005);
            Assert.Contains("ScopedPrices", warning.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invoke_LambdaUsingASingleton_DoesNotWarn()
    {
        var (provider, logs) = App(ServiceLifetime.Singleton);
        using (provider)
        {
            for (var request = 0; request < 3; request++)
            {
                using var scope = provider.CreateScope();
                Assert.Equal(15, scope.ServiceProvider.GetRequiredService<ScopedCatalog>().Get(7));
            }

            Assert.DoesNotContain(logs.GetSnapshot(), r => r.Id.Id == 1005);
        }
    }
}
