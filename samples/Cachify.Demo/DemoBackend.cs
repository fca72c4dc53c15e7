using Microsoft.Extensions.Logging;

namespace CachifyNet.Demo;

/// <summary>The backend the tour runs on, chosen from the command line.</summary>
public sealed class DemoBackend : IDisposable
{
    private DemoBackend(ICacheBackend backend, string description)
    {
        Backend = backend;
        Description = description;
    }

    public ICacheBackend Backend { get; }

    public string Description { get; }

    /// <summary>
    /// Memory by default. <c>--redis &lt;connection string&gt;</c> is reserved for the Redis backend: when
    /// Cachify.Redis lands, build a <c>RedisCacheBackend</c> here and every section of the tour runs on it
    /// unchanged (each wrapper has a stable <c>Named(...)</c> identity, which Redis needs for lambdas).
    /// </summary>
    public static DemoBackend Choose(string[] args, ILoggerFactory loggerFactory)
    {
        var redis = Array.IndexOf(args, "--redis");
        if (redis >= 0)
        {
            var connection = redis + 1 < args.Length ? args[redis + 1] : "(none given)";
            Console.WriteLine($"Note: --redis {connection}: the Redis backend is not available yet (it comes with Cachify.Redis). Running on memory.");
            Console.WriteLine();
        }

        var memory = new MemoryCacheBackend(new MemoryCacheBackendOptions { LoggerFactory = loggerFactory });
        return new DemoBackend(memory, "memory (in-process, MemoryCacheBackend)");
    }

    public void Dispose() => (Backend as IDisposable)?.Dispose();
}
