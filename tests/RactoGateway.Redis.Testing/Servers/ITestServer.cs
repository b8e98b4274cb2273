namespace RactoGateway.Redis.Testing.Servers;

/// <summary>A real Redis-compatible server on a loopback port, owned by a test fixture.</summary>
public interface ITestServer : IAsyncDisposable
{
    /// <summary>"redis" or "garnet": shown in test names.</summary>
    string Name { get; }

    /// <summary>The loopback port it listens on (kept across <see cref="StopAsync"/>/<see cref="StartAsync"/>).</summary>
    int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for it, with short timeouts so faults show quickly.</summary>
    string ConnectionString => $"127.0.0.1:{Port},connectTimeout=2000,syncTimeout=3000,asyncTimeout=3000";

    /// <summary>A connection string with every permission, for tests that inspect Redis directly (the same unless ACLs restrict <see cref="ConnectionString"/>).</summary>
    string AdminConnectionString => ConnectionString;

    /// <summary>Starts the server (again, on the same port) and waits until it answers PING.</summary>
    Task StartAsync();

    /// <summary>Stops the server abruptly, as a crash would.</summary>
    Task StopAsync();
}
