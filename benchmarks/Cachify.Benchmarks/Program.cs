using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Running;
using CachifyNet.Benchmarks.Infrastructure;
using CachifyNet.Testing;

namespace CachifyNet.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        // Exported numbers (CSV, markdown) are read by benchmarks/report.py: keep them culture-invariant.
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

        if (args.Contains("--retained"))
        {
            return RetainedMemory.Run(args);
        }

        if (args.Contains("--backplane-latency"))
        {
            return Redis.BackplaneLatency.Run(args);
        }

        // Cross-process propagation latency (not a BenchmarkDotNet class): see Propagation.
        if (args.Contains("--propagation-reader"))
        {
            return Propagation.RunReader(args);
        }

        if (args.Contains("--propagation"))
        {
            return Propagation.Run(args);
        }

        // LevelsBenchmarks' rows interleaved in one process, best and median of rounds: see LevelsRounds.
        if (args.Contains("--levels-rounds"))
        {
            return LevelsRounds.Run(args);
        }

        // Metrics measured inside benchmark processes (see RecordedMetric) go to a fresh folder per run.
        var metrics = Path.Combine(Path.GetTempPath(), "cachify-bench-metrics-" + Environment.ProcessId);
        Environment.SetEnvironmentVariable(RecordedMetric.DirectoryVariable, metrics);

        // DefaultConfig already exports GitHub markdown, CSV and HTML to BenchmarkDotNet.Artifacts/results;
        // the brief JSON adds the statistics in nanoseconds, read by report.py.
        var config = DefaultConfig.Instance.AddExporter(JsonExporter.Brief);
        var types = typeof(Program).Assembly.GetExportedTypes()
            .Where(type => type is { IsClass: true, IsAbstract: false } && type.GetMethods().Any(m => m.IsDefined(typeof(BenchmarkDotNet.Attributes.BenchmarkAttribute), false)))
            .ToList();

        using var redis = StartRedis(args, types);
        try
        {
            BenchmarkSwitcher.FromTypes([.. types]).Run(args, config);
            return 0;
        }
        finally
        {
            if (Directory.Exists(metrics))
            {
                Directory.Delete(metrics, recursive: true);
            }
        }
    }

    /// <summary>
    /// The Redis scenarios (namespace <c>CachifyNet.Benchmarks.Redis</c>) need a server: <c>CACHIFY_BENCH_REDIS</c> if
    /// set, else a private redis-server started here and stopped when the run ends (its endpoint is handed to the
    /// benchmark processes through the same variable). Without either, the Redis scenarios are left out, saying why.
    /// </summary>
    private static LocalRedisServer? StartRedis(string[] args, List<Type> types)
    {
        var redisTypes = types.Where(type => type.Namespace == typeof(Redis.RedisHitBenchmarks).Namespace).ToList();
        if (RedisEndpoint.IsConfigured)
        {
            // Endpoints only: the configuration string may hold a password.
            var endpoints = string.Join(", ", StackExchange.Redis.ConfigurationOptions.Parse(RedisEndpoint.Configuration).EndPoints);
            Console.WriteLine($"// Redis scenarios use {RedisEndpoint.Variable} ({endpoints})");
            return null;
        }

        // Listing, help and version output need no server.
        if (args.Any(arg => arg is "--list" or "--help" or "-h" or "--version" or "--info"))
        {
            return null;
        }

        if (!LocalRedisServer.Available)
        {
            Console.WriteLine(
                "// redis-server was not found (PATH, /usr/bin, /usr/sbin, /usr/local/bin or $REDIS_SERVER), and " + RedisEndpoint.Variable +
                " is not set: the Redis scenarios (" + string.Join(", ", redisTypes.Select(type => type.Name)) + ") are SKIPPED. " +
                "Install it with 'apt-get install -y redis-server', or set " + RedisEndpoint.Variable + "=host:port.");
            types.RemoveAll(redisTypes.Contains);
            return null;
        }

        var server = new LocalRedisServer("cachify-bench-redis-");
        Environment.SetEnvironmentVariable(RedisEndpoint.Variable, server.EndPoint);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
        Console.CancelKeyPress += (_, _) => server.Dispose();
        Console.WriteLine($"// Redis scenarios use a private redis-server ({server.BinaryPath}) on {server.EndPoint}, stopped at the end of the run");
        return server;
    }
}
