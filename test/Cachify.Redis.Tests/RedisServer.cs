using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// A private redis-server (the Debian package's binary) on a free loopback port, with a temporary directory and no
/// persistence. Tests may kill it (SIGKILL) and start it again on the same port.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private static readonly Lazy<string?> Binary = new(Find);
    private readonly string _directory;
    private Process? _process;

    public RedisServer()
    {
        var binary = Binary.Value ?? throw new InvalidOperationException(
            "redis-server was not found (PATH, /usr/bin, /usr/sbin, /usr/local/bin or $REDIS_SERVER). Install it with 'apt-get install -y redis-server'. " +
            "Outside CI the Redis tests are skipped when it is missing; with CI set they fail.");
        BinaryPath = binary;
        _directory = Directory.CreateTempSubdirectory("cachify-redis-").FullName;
        Port = FreePort();
        Start();
    }

    /// <summary>Whether tests must run (CI is set) even when redis-server is missing.</summary>
    public static bool Required => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>Whether redis-server can be found on this machine.</summary>
    public static bool Available => Binary.Value is not null;

    public string BinaryPath { get; }

    public int Port { get; }

    public string EndPoint => "127.0.0.1:" + Port;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts redis-server and waits (with a deadline) until it answers PING.</summary>
    public void Start()
    {
        var info = new ProcessStartInfo(BinaryPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _directory,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--dir", _directory, "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning" })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Wait.Until(Ping, "redis-server answers PING on " + EndPoint, TimeSpan.FromSeconds(15));
    }

    /// <summary>Kills the server at once (SIGKILL): clients see the connection drop, nothing is saved.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.WaitForExit();
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>A multiplexer tuned for tests: short timeouts, fast reconnects, no abort on connect failure.</summary>
    public ConnectionMultiplexer Connect()
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { EndPoint },
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            SyncTimeout = 2000,
            AsyncTimeout = 2000,
            ReconnectRetryPolicy = new LinearRetry(100),
        };
        return ConnectionMultiplexer.Connect(options);
    }

    public void Dispose()
    {
        Kill();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
    }

    private bool Ping()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            using var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[16];
            var read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("REDIS_SERVER") is { Length: > 0 } configured && File.Exists(configured))
        {
            return configured;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var candidates = path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
        return candidates.Select(dir => Path.Combine(dir, "redis-server")).FirstOrDefault(File.Exists);
    }
}

/// <summary>
/// A test that needs redis-server: skipped when it is missing, unless the CI environment variable is set, in
/// which case it runs and fails (CI must install redis-server).
/// </summary>
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (!RedisServer.Available && !RedisServer.Required)
        {
            Skip = "redis-server is not installed (apt-get install -y redis-server); with CI set this test fails instead.";
        }
    }
}

/// <summary>One redis-server per test class, started at first use (so a skipped class starts nothing).</summary>
public sealed class RedisServerFixture : IDisposable
{
    private readonly Lazy<RedisServer> _server = new(() => new RedisServer());
    private readonly Lazy<ConnectionMultiplexer> _connection;

    public RedisServerFixture()
    {
        _connection = new Lazy<ConnectionMultiplexer>(() => _server.Value.Connect());
    }

    public RedisServer Server => _server.Value;

    /// <summary>A multiplexer shared by the class's tests (the "process" of most tests).</summary>
    public ConnectionMultiplexer Connection => _connection.Value;

    public void Dispose()
    {
        if (_connection.IsValueCreated)
        {
            _connection.Value.Dispose();
        }

        if (_server.IsValueCreated)
        {
            _server.Value.Dispose();
        }
    }
}
