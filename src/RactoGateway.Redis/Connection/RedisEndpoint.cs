using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace RactoGateway.Redis.Connection;

/// <summary>
/// Turns what users write to name a server into StackExchange.Redis options: <c>redis://[user:password@]host[:port][/db]</c>,
/// <c>rediss://</c> for TLS, or a plain StackExchange.Redis configuration string such as <c>host:port,host:port,password=...</c>.
/// Also describes endpoints for messages, never with a password.
/// </summary>
/// <remarks>
/// What is refused, with an <see cref="ArgumentException"/> naming <c>url</c> and before any network I/O: any
/// <c>scheme://</c> other than <c>redis</c> and <c>rediss</c> (<c>http://</c>, <c>tcp://</c>, <c>redis+tls://</c>...);
/// a mistyped <c>redis://</c> (<c>redis:/host</c>, <c>redis//host</c>, <c>redis:\\host</c>); a Redis URL with a query or
/// a fragment, or a path that is not a database number; and a configuration string naming an endpoint that is not
/// <c>host[:port]</c> (StackExchange.Redis would take <c>http://:pw@host</c> as a host name, try to resolve it, and
/// quote it, password and all, in its connection errors). Whatever is echoed back goes through <see cref="Redact"/>.
/// </remarks>
public static partial class RedisEndpoint
{
    private const int DefaultPort = 6379;

    /// <summary>What every refusal ends with.</summary>
    private const string Forms = "use redis://[user:password@]host[:port][/db], rediss://... (TLS), or a StackExchange.Redis configuration string host:port[,host:port][,password=...]";

    /// <summary>
    /// Try to reconnect on every heartbeat (once a second) while Redis is away. StackExchange.Redis's default exponential
    /// backoff, after a few seconds down, waits up to 2 s more once Redis is back; this makes the first call succeed
    /// within about a second of the restart (docs/reliability.md, "Outage").
    /// </summary>
    private static readonly IReconnectRetryPolicy ReconnectEveryHeartbeat = new LinearRetry(500);

    /// <summary>StackExchange.Redis options whose values never hold a secret; any other key's value is hidden.</summary>
    private static readonly HashSet<string> PlainOptions = new(StringComparer.OrdinalIgnoreCase)
    {
        "abortConnect", "allowAdmin", "asyncTimeout", "channelPrefix", "checkCertificateRevocation", "configCheckSeconds",
        "configChannel", "connectRetry", "connectTimeout", "defaultDatabase", "keepAlive", "name", "proxy", "protocol",
        "resolveDns", "responseTimeout", "serviceName", "setlib", "ssl", "sslHost", "sslProtocols", "syncTimeout",
        "tiebreaker", "user", "version", "writeBuffer", "highIntegrity",
    };

    /// <summary>Parses <paramref name="url"/>; throws <see cref="ArgumentException"/> naming <c>url</c> when it is malformed.
    /// The message never contains a password.</summary>
    /// <param name="url">A <c>redis://</c> or <c>rediss://</c> URL, or a StackExchange.Redis configuration string.</param>
    /// <returns>Options that do not abort when the server is down at first, and reconnect on every heartbeat.</returns>
    /// <exception cref="ArgumentException"><paramref name="url"/> is empty or malformed.</exception>
    public static ConfigurationOptions Parse(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        var trimmed = url.Trim();
        ConfigurationOptions options;
        var scheme = SchemePrefix().Match(trimmed);
        if (scheme.Success)
        {
            var name = scheme.Groups["scheme"].Value;
            if (!name.Equals("redis", StringComparison.OrdinalIgnoreCase) && !name.Equals("rediss", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"'{Shorten(name)}://' is not a Redis URL scheme: use redis:// or rediss:// (was {Redact(trimmed)}).", nameof(url));
            }

            options = ParseUrl(trimmed);
        }
        else if (MistypedRedisScheme().IsMatch(trimmed))
        {
            throw new ArgumentException($"Malformed Redis URL {Redact(trimmed)}: use redis:// or rediss:// (two slashes).", nameof(url));
        }
        else
        {
            try
            {
                options = ConfigurationOptions.Parse(trimmed);
            }
            catch (ArgumentException ex)
            {
                // StackExchange.Redis names the option (its ParamName); its message may quote the value, so it is not used.
                var option = ex.ParamName is { } key && OptionName().IsMatch(key) ? $"option '{key}' is unknown or has a value it cannot read" : "it cannot be read";
                throw new ArgumentException($"Not a Redis URL or StackExchange.Redis configuration string ({option}): {Redact(trimmed)}; {Forms}.", nameof(url));
            }

            if (options.EndPoints.Count == 0)
            {
                throw new ArgumentException("The Redis configuration names no endpoint (expected host:port).", nameof(url));
            }

            if (options.EndPoints.Any(e => !IsHostAndPort(e)))
            {
                throw new ArgumentException($"Not a Redis URL or StackExchange.Redis configuration string (an endpoint is not host[:port]): {Redact(trimmed)}; {Forms}.", nameof(url));
            }

            options.ReconnectRetryPolicy = ReconnectEveryHeartbeat;

            // Keep an explicit abortConnect for callers who connect with these options themselves.
            if (trimmed.Contains("abortConnect", StringComparison.OrdinalIgnoreCase))
            {
                return options;
            }
        }

        // A multiplexer a caller opens with these options while Redis is restarting works once it is back, rather than
        // throwing from Connect. (A memory's own opens set their own policy: ConnectionSet.Connect, one attempt per call.)
        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = ReconnectEveryHeartbeat;
        return options;
    }

    /// <summary>The endpoints of <paramref name="options"/> as <c>host:port[,host:port]</c>; passwords never appear.</summary>
    /// <param name="options">The options whose endpoints to describe.</param>
    /// <returns>The endpoints, for a message.</returns>
    public static string Describe(ConfigurationOptions options) => Describe(options.EndPoints);

    /// <summary>Endpoints as <c>host:port[,host:port]</c>.</summary>
    /// <param name="endPoints">The endpoints.</param>
    /// <returns>The endpoints, for a message.</returns>
    public static string Describe(IEnumerable<EndPoint> endPoints) => string.Join(",", endPoints.Select(Describe));

    /// <summary>One endpoint as <c>host:port</c> (IPv6 in brackets); anything that is not a plain host name shows as <c>?</c>.</summary>
    /// <param name="endPoint">The endpoint.</param>
    /// <returns>The endpoint, for a message.</returns>
    public static string Describe(EndPoint endPoint) => endPoint switch
    {
        DnsEndPoint dns => IsHostName(dns.Host) ? $"{dns.Host}:{dns.Port}" : $"?:{dns.Port}",
        IPEndPoint ip => ip.ToString(),
        _ => "?",
    };

    /// <summary>
    /// <paramref name="url"/> for a message: the user-info of a URL (whatever its shape: <c>user:pw@</c>, <c>pw@</c>,
    /// a mistyped scheme, several <c>@</c>) becomes <c>***</c>, as does the value of every <c>password=</c>; a host part
    /// that is not plainly <c>host[:port][/db]</c> is not echoed either.
    /// </summary>
    /// <param name="url">Anything a user gave as a server address.</param>
    /// <returns>The same text with every secret replaced by <c>***</c>.</returns>
    public static string Redact(string url)
    {
        var text = PasswordOption().Replace(url.Trim(), "${key}***");
        var scheme = SchemePrefix().Match(text);
        if (scheme.Success)
        {
            return $"{Shorten(scheme.Groups["scheme"].Value)}://{RedactAuthority(text[scheme.Length..])}";
        }

        var segments = text.Split(',');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Contains('=', StringComparison.Ordinal))
            {
                // key=value: the value is echoed only when it is a number or a boolean of an option that never holds a secret.
                var eq = segment.IndexOf('=', StringComparison.Ordinal);
                var key = segment[..eq].Trim();
                segments[i] = IsPlainOption(key) && PlainValue().IsMatch(segment[(eq + 1)..].Trim())
                    ? segment
                    : $"{(OptionName().IsMatch(key) ? key : "?")}=***";
            }
            else
            {
                var mistyped = MistypedRedisScheme().Match(segment.TrimStart());
                segments[i] = mistyped.Success
                    ? mistyped.Value + RedactAuthority(segment.TrimStart()[mistyped.Length..])
                    : RedactAuthority(segment);
            }
        }

        return string.Join(",", segments);
    }

    private static ConfigurationOptions ParseUrl(string url)
    {
        var malformed = $"Malformed Redis URL {Redact(url)} (expected redis://[user:password@]host[:port][/db]; percent-encode @ : / ? # % in the user name and password).";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host)
            || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            throw new ArgumentException(malformed, nameof(url));
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new ArgumentException($"A Redis URL takes no ?query or #fragment (was {Redact(url)}); percent-encode ? and # in a password, or use a configuration string for other options.", nameof(url));
        }

        var options = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        var port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port;
        var host = uri.Host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var address))
        {
            options.EndPoints.Add(new IPEndPoint(address, port));
        }
        else
        {
            options.EndPoints.Add(host, port);
            if (options.Ssl)
            {
                options.SslHost = host;
            }
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            var password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            if (password is null)
            {
                // redis://secret@host is how many clients spell a password without a user.
                options.Password = user;
            }
            else if (password.Length == 0 && user.Length > 0)
            {
                // "user:" and nothing: most likely a mistyped separator put the password where the user name goes.
                throw new ArgumentException($"The password after the user name is empty: {Redact(url)} (expected redis://user:password@host or redis://password@host).", nameof(url));
            }
            else
            {
                options.User = user.Length > 0 ? user : null;
                options.Password = password.Length > 0 ? password : null;
            }
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out var db))
            {
                var shown = SafeValue().IsMatch(path) ? $" (was '{path}')" : "";
                throw new ArgumentException($"The database in a Redis URL must be a number{shown}: {Redact(url)}.", nameof(url));
            }

            options.DefaultDatabase = db;
        }

        return options;
    }

    /// <summary>The part of a URL after its scheme: any user-info is <c>***</c>, and the rest shows only when it is plain.</summary>
    private static string RedactAuthority(string rest)
    {
        var at = rest.LastIndexOf('@');
        var userInfo = at < 0 ? "" : RedactUserInfo(rest[..at]) + "@";
        var after = at < 0 ? rest : rest[(at + 1)..];
        return userInfo + (PlainHostPart().IsMatch(after) ? after : "…");
    }

    /// <summary>A user name is kept when it is plain and a password follows its colon (<c>alice:***</c>); everything else is
    /// hidden. With nothing after the colon (<c>secret:@host</c>) the "user name" is most likely the password typed before
    /// the wrong separator, so it is hidden too.</summary>
    private static string RedactUserInfo(string userInfo)
    {
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < userInfo.Length - 1 && SafeValue().IsMatch(userInfo[..colon]) ? userInfo[..colon] + ":***" : colon == 0 ? ":***" : "***";
    }

    private static bool IsHostAndPort(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint => true,
        DnsEndPoint dns => IsHostName(dns.Host),
        _ => false,
    };

    /// <summary>A DNS name or address StackExchange.Redis can resolve: letters, digits, <c>. - _</c>; no <c>@ : / %</c>, no spaces.</summary>
    private static bool IsHostName(string host) => host.Length is > 0 and <= 253 && Uri.CheckHostName(host) switch
    {
        UriHostNameType.IPv4 or UriHostNameType.IPv6 => true,
        UriHostNameType.Dns => host.All(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_'),
        _ => false,
    };

    private static bool IsPlainOption(string key) => PlainOptions.Contains(key);

    private static string Shorten(string text) => text.Length <= 16 ? text : text[..16] + "…";

    /// <summary><c>scheme://</c> at the start (RFC 3986 scheme characters).</summary>
    [GeneratedRegex(@"\A(?<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")]
    private static partial Regex SchemePrefix();

    /// <summary><c>redis</c> or <c>rediss</c> followed by a colon and one or three-plus slashes, or by slashes or backslashes
    /// without the colon: a mistyped <c>redis://</c>. (<c>redis:6379</c>, the host named redis, is not matched.)</summary>
    [GeneratedRegex(@"\Arediss?(:(/|\\)+|(/|\\)+|:(?=[^0-9]|\z))", RegexOptions.IgnoreCase)]
    private static partial Regex MistypedRedisScheme();

    /// <summary><c>password=value</c> (any case, spaces around the key), up to the next comma or ampersand.</summary>
    [GeneratedRegex(@"(?<key>(?<=\A|[,&?;])\s*[A-Za-z]*pass[A-Za-z]*\s*=)[^,&;]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordOption();

    /// <summary>What an option name looks like: letters (and dots) only.</summary>
    [GeneratedRegex(@"\A[A-Za-z][A-Za-z.]{0,39}\z")]
    private static partial Regex OptionName();

    /// <summary>A value that cannot hide a secret's shape: short, plain characters.</summary>
    [GeneratedRegex(@"\A[A-Za-z0-9._\-]{0,40}\z")]
    private static partial Regex SafeValue();

    /// <summary>An option value echoed in messages: a number or a boolean, never text that could be a misplaced password.</summary>
    [GeneratedRegex(@"\A(-?[0-9]{1,10}|true|false)\z", RegexOptions.IgnoreCase)]
    private static partial Regex PlainValue();

    /// <summary><c>host[:port][/db]</c> with a plain host name, an IPv4 address or a bracketed IPv6 address.</summary>
    [GeneratedRegex(@"\A(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._\-]{1,253})(:[0-9]{1,5})?(/[0-9]{0,9})?\z")]
    private static partial Regex PlainHostPart();
}
