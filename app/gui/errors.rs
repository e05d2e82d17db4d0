//! Connection errors in the app's language: chosen by the error's kind and fields (never by
//! parsing the English text), as a sentence starting with a capital letter. The causes behind
//! the main sentence — the technical detail — follow it as the system reported them.

use remote4d_core::client::{ConnectError, NotAServer, Transport};

use super::i18n::{Lang, Strings};
use crate::cli::output::sentence;

/// `e` for the user, in `tr`'s language, followed by its causes.
pub fn connect_error(tr: &Strings, e: &ConnectError) -> String {
    let main = match tr.lang {
        Lang::English => e.to_string(),
        Lang::French => french(e).unwrap_or_else(|| e.to_string()),
    };
    let mut text = sentence(&main);
    text.push_str(&super::services::causes(e));
    text
}

/// The French sentence for `e`; `None` for what the server wrote itself (its own words are
/// shown) and for kinds the app asks about in a dialog instead.
fn french(e: &ConnectError) -> Option<String> {
    use ConnectError as E;
    Some(match e {
        E::NotRemote => "ce raccourci ouvre un projet local, pas un projet distant : ouvrez-le avec 4D, ou donnez l'adresse d'un serveur".into(),
        E::NoProjectName => "le nom de publication du projet manque : donnez-le (un .4DLink le donne dans server_database_name)".into(),
        E::NotFound { name, seconds } => format!(
            "aucun serveur publiant « {name} » n'a été trouvé sur le réseau en {seconds} s ; vérifiez qu'il fonctionne et publie son projet, ou donnez son adresse"
        ),
        E::Ambiguous { name, count } => format!(
            "{count} serveurs publient « {name} » sur ce réseau ; choisissez-en un par son adresse (Remote4D n'en rejoint jamais un sans le dire)"
        ),
        E::Discovery(_) => "impossible de chercher des serveurs sur le réseau ; donnez l'adresse du serveur".into(),
        E::Unreachable { address, cause } => format!(
            "impossible de joindre {address} : {}. Vérifiez que le serveur fonctionne, l'adresse et le port (19813 par défaut)",
            transport(cause)
        ),
        E::NotRemote4d { address, cause } => format!(
            "{address} n'est pas un serveur Remote4D ({}) ; vérifiez l'adresse et le port",
            not_a_server(cause)
        ),
        E::WrongProject { address, expected, found } => format!(
            "le serveur {address} publie « {found} », pas « {expected} » ; vérifiez l'adresse ou le nom du projet"
        ),
        E::Refused(message) => format!("le serveur a refusé la connexion : {message}"),
        E::DownloadInterrupted { .. } => "le serveur a cessé de répondre pendant le téléchargement ; il reprendra là où il s'est arrêté à la prochaine connexion. La version précédente du projet reste utilisable".into(),
        E::Damaged(_) => "le projet téléchargé n'a pas passé la vérification ; rien n'a été remplacé. Connectez-vous à nouveau ; si cela persiste, l'archive du serveur ou le réseau est endommagé".into(),
        E::DiskFull { path } => format!(
            "le disque est plein ({}) : libérez de la place et connectez-vous à nouveau ; la version précédente du projet est intacte",
            path.display()
        ),
        E::Io { path, .. } => format!("impossible d'utiliser {}", path.display()),
        E::Cache(_) => "la copie en cache du projet ne peut pas être mise à jour".into(),
        E::Tls(_) | E::Setup(_) => "impossible d'établir une connexion sécurisée sur cette machine".into(),
        E::Address(_) => "l'adresse du serveur n'est pas valide".into(),
        E::Development(_) => "le mode développement n'est pas possible".into(),
        E::Api(a) => format!("le serveur a répondu : {}", a.message),
        _ => return None,
    })
}

/// What the network said, in French.
fn transport(t: &Transport) -> String {
    match t {
        Transport::NoAnswer => "pas de réponse à temps (le serveur est peut-être arrêté, ou un pare-feu bloque la connexion)".into(),
        Transport::NothingListening => "rien n'écoute sur ce port".into(),
        Transport::Cut => "la connexion a été coupée".into(),
        Transport::ConnectTimedOut => "pas de réponse à temps (un pare-feu bloque peut-être la connexion)".into(),
        Transport::NoRoute => "aucune route vers cette adresse (vérifiez le réseau)".into(),
        Transport::AddressNotAvailable => "cette adresse n'est pas utilisable depuis cette machine".into(),
        Transport::NameNotFound => "le nom du serveur est introuvable (vérifiez son orthographe, ou utilisez son adresse IP)".into(),
        Transport::NoHost => "aucun hôte donné".into(),
        other => other.to_string(),
    }
}

/// Why an answer is not Remote4D's, in French.
fn not_a_server(n: &NotAServer) -> String {
    match n {
        NotAServer::NoTls => "il ne parle pas TLS".into(),
        NotAServer::TooLarge { limit } => format!("sa réponse dépasse {limit} octets"),
        NotAServer::NoErrorBody { status } => {
            format!("HTTP {status} sans réponse d'erreur Remote4D")
        }
        NotAServer::OtherProduct { product } => format!("il se présente comme {product:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::i18n::{EN, FR};

    #[test]
    fn errors_read_as_sentences_in_the_apps_language() {
        let e = ConnectError::Unreachable {
            address: "10.0.0.5:19813".into(),
            cause: Transport::NothingListening,
        };
        assert_eq!(
            connect_error(&EN, &e),
            "Cannot reach 10.0.0.5:19813: nothing is listening on that port. Check that the server runs, the address and the port (default 19813)"
        );
        assert_eq!(
            connect_error(&FR, &e),
            "Impossible de joindre 10.0.0.5:19813 : rien n'écoute sur ce port. Vérifiez que le serveur fonctionne, l'adresse et le port (19813 par défaut)"
        );
        let e = ConnectError::NotRemote4d {
            address: "10.0.0.5:80".into(),
            cause: NotAServer::NoTls,
        };
        assert!(
            connect_error(&FR, &e)
                .starts_with("10.0.0.5:80 n'est pas un serveur Remote4D (il ne parle pas TLS)")
        );
        // The causes follow, as reported.
        let e = ConnectError::Io {
            path: "/cache/x".into(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        };
        assert_eq!(
            connect_error(&FR, &e),
            "Impossible d'utiliser /cache/x — denied"
        );
        assert_eq!(connect_error(&EN, &e), "Cannot use /cache/x — denied");
        assert_eq!(sentence("été"), "Été");
    }
}
