//! The app's words in English and French, chosen from the system locale.

/// The languages of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    English,
    /// French.
    French,
}

/// Every text of the interface.
#[derive(Debug)]
pub struct Strings {
    /// Which language these are (errors from the core are translated by kind).
    pub lang: Lang,
    pub connect_title: &'static str,
    pub recent: &'static str,
    pub available: &'static str,
    pub custom: &'static str,
    pub development_mode: &'static str,
    pub ok: &'static str,
    pub cancel: &'static str,
    pub no_recent: &'static str,
    pub looking_for_servers: &'static str,
    /// Available, empty after the search settled.
    pub no_servers_found: &'static str,
    /// What to check then.
    pub no_servers_hint: &'static str,
    /// Beside a server that said goodbye or stopped answering.
    pub not_answering: &'static str,
    pub project_name: &'static str,
    pub project_name_hint: &'static str,
    pub network_address: &'static str,
    pub address_hint: &'static str,
    pub address_needed: &'static str,
    pub remove: &'static str,
    pub show_file: &'static str,
    pub pinned: &'static str,
    pub new_identity_marker: &'static str,
    pub changed_marker: &'static str,
    pub file: &'static str,
    pub open: &'static str,
    pub remote_project: &'static str,
    pub shortcut_file: &'static str,
    pub open_recent: &'static str,
    pub close: &'static str,
    pub administer: &'static str,
    pub quit: &'static str,
    pub help: &'static str,
    pub about: &'static str,
    pub about_text: &'static str,
    pub phase_looking_up: &'static str,
    pub phase_connecting: &'static str,
    pub phase_identity: &'static str,
    pub phase_login: &'static str,
    pub phase_downloading: &'static str,
    /// The project window while the project is read.
    pub reading_project: &'static str,
    pub phase_unpacking: &'static str,
    pub phase_verifying: &'static str,
    pub phase_up_to_date: &'static str,
    pub phase_repairing: &'static str,
    pub phase_resources: &'static str,
    pub phase_same_machine: &'static str,
    pub phase_ready: &'static str,
    pub phase_retrying: &'static str,
    pub left: &'static str,
    pub new_identity_title: &'static str,
    pub new_identity_text: &'static str,
    pub trust: &'static str,
    pub changed_identity_title: &'static str,
    pub changed_identity_text: &'static str,
    pub previous_fingerprint: &'static str,
    pub new_fingerprint: &'static str,
    pub accept_new_identity: &'static str,
    pub login_title: &'static str,
    pub login_asked_by_link: &'static str,
    pub user: &'static str,
    pub password: &'static str,
    pub remember: &'static str,
    pub challenge_title: &'static str,
    pub answer: &'static str,
    pub error_title: &'static str,
    pub open_offline: &'static str,
    pub mode_remote: &'static str,
    pub mode_development: &'static str,
    pub mode_offline: &'static str,
    pub server: &'static str,
    pub session: &'static str,
    pub storage: &'static str,
    /// Before the local time a session opened.
    pub connected_since: &'static str,
    /// An empty session storage.
    pub storage_empty: &'static str,
    pub tables: &'static str,
    pub methods: &'static str,
    pub classes: &'static str,
    pub database_methods: &'static str,
    pub forms: &'static str,
    pub new_version: &'static str,
    pub reconnect: &'static str,
    pub find_hint: &'static str,
    pub find_close: &'static str,
    pub find_searching: &'static str,
    pub find_nothing: &'static str,
    pub find_lines: &'static str,
    pub find_files: &'static str,
    pub resources_offered: &'static str,
    pub resources_update_now: &'static str,
    pub resources_later: &'static str,
    pub resources_copying: &'static str,
    pub resources_copied: &'static str,
    pub resources_failed: &'static str,
    pub disconnect: &'static str,
    pub open_with: &'static str,
    pub open_with_hint: &'static str,
    pub save_all: &'static str,
    pub saving: &'static str,
    pub saved: &'static str,
    pub modified: &'static str,
    pub locked_by: &'static str,
    pub read_only: &'static str,
    pub shutdown_in: &'static str,
    pub message_from_server: &'static str,
    pub dropped: &'static str,
    pub reconnecting: &'static str,
    pub select_source: &'static str,
    pub log_in: &'static str,
    pub send: &'static str,
    pub connect_anyway: &'static str,
    pub select: &'static str,
    pub update_title: &'static str,
    pub update_version: &'static str,
    pub update_now: &'static str,
    pub updating: &'static str,
    pub mirror_skipped: &'static str,
    pub unsaved_title: &'static str,
    pub unsaved_text: &'static str,
    pub discard: &'static str,
}

/// English.
pub const EN: Strings = Strings {
    lang: Lang::English,
    connect_title: "Connect to a 4D Server",
    recent: "Recent",
    available: "Available",
    custom: "Custom",
    development_mode: "Activate development mode",
    ok: "OK",
    cancel: "Cancel",
    no_recent: "No recent projects yet. Connect from the Available or Custom tab.",
    looking_for_servers: "Looking for servers on the network…",
    no_servers_found: "No servers found on this network",
    no_servers_hint: "Check that the server runs and publishes its project, and that the firewall lets multicast DNS (UDP 5353) and the server's port (19813 by default) through; or give its address in the Custom tab.",
    not_answering: "not answering",
    project_name: "Project name",
    project_name_hint: "Name shown in Recent",
    network_address: "Network address",
    address_hint: "host[:port], e.g. 192.168.1.10:19813",
    address_needed: "Type the server's address, e.g. 192.168.1.10 or server.lan:19813",
    remove: "Remove",
    show_file: "Show .4DLink",
    pinned: "trusted",
    new_identity_marker: "new",
    changed_marker: "identity changed!",
    file: "File",
    open: "Open",
    remote_project: "Remote Project…",
    shortcut_file: "Shortcut file…",
    open_recent: "Open Recent Projects",
    close: "Close",
    administer: "Administer Server…",
    quit: "Quit",
    help: "Help",
    about: "About Remote4D",
    about_text: "Open, cross-platform 4D client/server management.",
    phase_looking_up: "Looking up the server on the network",
    phase_connecting: "Connecting",
    phase_identity: "Checking the server's identity",
    phase_login: "Logging in",
    phase_downloading: "Downloading the project",
    reading_project: "Reading the project…",
    phase_unpacking: "Unpacking",
    phase_verifying: "Verifying",
    phase_up_to_date: "The project is up to date",
    phase_repairing: "Repairing the local copy",
    phase_resources: "Updating the folder",
    phase_same_machine: "Checking for development mode",
    phase_ready: "Ready",
    phase_retrying: "Connection lost, retrying",
    left: "left",
    new_identity_title: "New server",
    new_identity_text: "This is the first connection to this server. Compare its certificate fingerprint with the one its administrator gave you (the server prints it at start):",
    trust: "Trust and connect",
    changed_identity_title: "The server's identity changed",
    changed_identity_text: "This server presents another identity than the one trusted before. This happens when the server was reinstalled — or when someone impersonates it. Connect only if its administrator confirms the new fingerprint.",
    previous_fingerprint: "Trusted before",
    new_fingerprint: "Presented now",
    accept_new_identity: "I have checked it: accept the new identity",
    login_title: "Login required",
    login_asked_by_link: "This shortcut asks for your name and password.",
    user: "User",
    password: "Password",
    remember: "Remember the user name",
    challenge_title: "The server asks",
    answer: "Answer",
    error_title: "Could not connect",
    open_offline: "Open the last version (offline)",
    mode_remote: "Remote (read-only copy)",
    mode_development: "Development (the server's project, read/write)",
    mode_offline: "Offline copy (read-only)",
    server: "Server",
    session: "Session",
    storage: "Storage",
    connected_since: "connected since",
    storage_empty: "empty",
    tables: "Tables",
    methods: "Methods",
    classes: "Classes",
    database_methods: "Database methods",
    forms: "Forms",
    new_version: "A new version of this project is available",
    reconnect: "Reconnect",
    find_hint: "Find in project (Ctrl+Shift+F)",
    find_close: "Close",
    find_searching: "Searching…",
    find_nothing: "Nothing found for",
    find_lines: "lines",
    find_files: "files",
    resources_offered: "The server's Resources folder changed",
    resources_update_now: "Update now",
    resources_later: "The server's Resources folder changed: it will be copied at the next connection",
    resources_copying: "Copying the server's new Resources folder…",
    resources_copied: "The Resources folder was updated from the server",
    resources_failed: "The Resources folder could not be updated (the previous copy is kept)",
    disconnect: "Disconnect",
    open_with: "Open with…",
    open_with_hint: "Program to open the project folder with",
    save_all: "Save all",
    saving: "Saving… waiting for the server to reload",
    saved: "Saved; the server reloaded the project",
    modified: "modified",
    locked_by: "being edited by",
    read_only: "read-only",
    shutdown_in: "The server stops in",
    message_from_server: "Message from the server",
    dropped: "Disconnected by the server",
    reconnecting: "Connection lost; reconnecting…",
    select_source: "Select a method, class or form to see its source.",
    log_in: "Log in",
    send: "Send",
    connect_anyway: "Connect",
    select: "Select…",
    update_title: "A newer Remote4D is needed",
    update_version: "The server offers version",
    update_now: "Update and restart",
    updating: "Updating…",
    mirror_skipped: "Mirror skipped, the next source is used:",
    unsaved_title: "Save your changes?",
    unsaved_text: "Changed files not saved yet:",
    discard: "Discard",
};

/// French.
pub const FR: Strings = Strings {
    lang: Lang::French,
    connect_title: "Connexion à 4D Server",
    recent: "Récents",
    available: "Disponibles",
    custom: "Personnalisée",
    development_mode: "Activer le mode développement",
    ok: "OK",
    cancel: "Annuler",
    no_recent: "Aucun projet récent. Connectez-vous depuis l'onglet Disponibles ou Personnalisée.",
    looking_for_servers: "Recherche des serveurs sur le réseau…",
    no_servers_found: "Aucun serveur trouvé sur ce réseau",
    no_servers_hint: "Vérifiez que le serveur fonctionne et publie son projet, et que le pare-feu laisse passer le DNS multicast (UDP 5353) et le port du serveur (19813 par défaut) ; ou donnez son adresse dans l'onglet Personnalisée.",
    not_answering: "ne répond plus",
    project_name: "Nom du projet",
    project_name_hint: "Nom affiché dans Récents",
    network_address: "Adresse réseau",
    address_hint: "hôte[:port], par ex. 192.168.1.10:19813",
    address_needed: "Saisissez l'adresse du serveur, par ex. 192.168.1.10 ou serveur.lan:19813",
    remove: "Retirer",
    show_file: "Afficher le .4DLink",
    pinned: "reconnu",
    new_identity_marker: "nouveau",
    changed_marker: "identité changée !",
    file: "Fichier",
    open: "Ouvrir",
    remote_project: "Projet distant…",
    shortcut_file: "Fichier raccourci…",
    open_recent: "Ouvrir un projet récent",
    close: "Fermer",
    administer: "Administrer un serveur…",
    quit: "Quitter",
    help: "Aide",
    about: "À propos de Remote4D",
    about_text: "Gestion client/serveur 4D ouverte et multiplateforme.",
    phase_looking_up: "Recherche du serveur sur le réseau",
    phase_connecting: "Connexion",
    phase_identity: "Vérification de l'identité du serveur",
    phase_login: "Identification",
    phase_downloading: "Téléchargement du projet",
    reading_project: "Lecture du projet…",
    phase_unpacking: "Décompression",
    phase_verifying: "Vérification",
    phase_up_to_date: "Le projet est à jour",
    phase_repairing: "Réparation de la copie locale",
    phase_resources: "Mise à jour du dossier",
    phase_same_machine: "Vérification du mode développement",
    phase_ready: "Prêt",
    phase_retrying: "Connexion perdue, nouvelle tentative",
    left: "restantes",
    new_identity_title: "Nouveau serveur",
    new_identity_text: "C'est la première connexion à ce serveur. Comparez l'empreinte de son certificat avec celle donnée par son administrateur (le serveur l'affiche au démarrage) :",
    trust: "Faire confiance et se connecter",
    changed_identity_title: "L'identité du serveur a changé",
    changed_identity_text: "Ce serveur présente une autre identité que celle reconnue auparavant. Cela arrive quand le serveur a été réinstallé — ou quand quelqu'un se fait passer pour lui. Ne vous connectez que si son administrateur confirme la nouvelle empreinte.",
    previous_fingerprint: "Reconnue auparavant",
    new_fingerprint: "Présentée maintenant",
    accept_new_identity: "J'ai vérifié : accepter la nouvelle identité",
    login_title: "Identification requise",
    login_asked_by_link: "Ce raccourci demande votre nom et votre mot de passe.",
    user: "Utilisateur",
    password: "Mot de passe",
    remember: "Mémoriser le nom d'utilisateur",
    challenge_title: "Le serveur demande",
    answer: "Réponse",
    error_title: "Connexion impossible",
    open_offline: "Ouvrir la dernière version (hors ligne)",
    mode_remote: "Distant (copie en lecture seule)",
    mode_development: "Développement (projet du serveur, lecture/écriture)",
    mode_offline: "Copie hors ligne (lecture seule)",
    server: "Serveur",
    session: "Session",
    storage: "Stockage",
    connected_since: "connecté depuis",
    storage_empty: "vide",
    tables: "Tables",
    methods: "Méthodes",
    classes: "Classes",
    database_methods: "Méthodes base",
    forms: "Formulaires",
    new_version: "Une nouvelle version de ce projet est disponible",
    reconnect: "Se reconnecter",
    find_hint: "Rechercher dans le projet (Ctrl+Maj+F)",
    find_close: "Fermer",
    find_searching: "Recherche…",
    find_nothing: "Rien trouvé pour",
    find_lines: "lignes",
    find_files: "fichiers",
    resources_offered: "Le dossier Resources du serveur a changé",
    resources_update_now: "Mettre à jour",
    resources_later: "Le dossier Resources du serveur a changé : il sera copié à la prochaine connexion",
    resources_copying: "Copie du nouveau dossier Resources du serveur…",
    resources_copied: "Le dossier Resources a été mis à jour depuis le serveur",
    resources_failed: "Le dossier Resources n'a pas pu être mis à jour (la copie précédente est gardée)",
    disconnect: "Se déconnecter",
    open_with: "Ouvrir avec…",
    open_with_hint: "Programme qui ouvre le dossier du projet",
    save_all: "Tout enregistrer",
    saving: "Enregistrement… le serveur recharge le projet",
    saved: "Enregistré ; le serveur a rechargé le projet",
    modified: "modifié",
    locked_by: "en cours de modification par",
    read_only: "lecture seule",
    shutdown_in: "Le serveur s'arrête dans",
    message_from_server: "Message du serveur",
    dropped: "Déconnecté par le serveur",
    reconnecting: "Connexion perdue ; reconnexion…",
    select_source: "Sélectionnez une méthode, une classe ou un formulaire pour voir son code.",
    log_in: "Se connecter",
    send: "Envoyer",
    connect_anyway: "Se connecter",
    select: "Choisir…",
    update_title: "Une version plus récente de Remote4D est nécessaire",
    update_version: "Le serveur propose la version",
    update_now: "Mettre à jour et redémarrer",
    updating: "Mise à jour…",
    mirror_skipped: "Miroir ignoré, la source suivante est utilisée :",
    unsaved_title: "Enregistrer vos modifications ?",
    unsaved_text: "Fichiers modifiés non enregistrés :",
    discard: "Ne pas enregistrer",
};

/// The strings for the system locale (`LC_ALL`, `LC_MESSAGES`, `LANG`; French for `fr*`).
pub fn from_env() -> &'static Strings {
    let language = std::env::var("LANGUAGE").ok();
    choose(language.as_deref(), system_locale().as_deref())
}

/// The locale of messages: `LC_ALL`, `LC_MESSAGES`, `LANG` (the first set) on Linux and the
/// BSDs; the user's UI language on Windows and macOS (a GUI app there has no `LANG`).
fn system_locale() -> Option<String> {
    #[cfg(any(windows, target_os = "macos"))]
    {
        sys_locale::get_locale()
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    }
}

/// The strings for gettext's `LANGUAGE` priority list (`fr:en`; ignored when the locale is C or
/// POSIX, as gettext does) and the system's locale: the first French or English one wins.
fn choose(language: Option<&str>, locale: Option<&str>) -> &'static Strings {
    let is_c = locale.is_none_or(|l| {
        let l = l.split(['.', '@']).next().unwrap_or_default();
        l == "C" || l == "POSIX"
    });
    let from_list = language
        .filter(|_| !is_c)
        .into_iter()
        .flat_map(|l| l.split(':'))
        .find_map(strings_for);
    from_list
        .or_else(|| locale.and_then(strings_for))
        .unwrap_or(&EN)
}

/// French for `fr`, `fr_FR.UTF-8`, `fr-CA`; English for `en…`; nothing for other languages.
fn strings_for(tag: &str) -> Option<&'static Strings> {
    let lang = tag.split(['_', '-', '.', '@']).next()?.to_ascii_lowercase();
    match lang.as_str() {
        "fr" => Some(&FR),
        "en" => Some(&EN),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_french(s: &Strings) -> bool {
        s.lang == FR.lang
    }

    #[test]
    fn the_language_comes_from_the_system_as_gettext_reads_it() {
        assert!(is_french(choose(None, Some("fr_FR.UTF-8"))));
        assert!(
            is_french(choose(None, Some("fr-CA"))),
            "Windows and macOS tags"
        );
        assert!(!is_french(choose(None, Some("en_US.UTF-8"))));
        assert!(!is_french(choose(None, None)));
        // LANGUAGE's priority list comes first: the first language we have wins.
        assert!(is_french(choose(Some("de:fr:en"), Some("en_GB.UTF-8"))));
        assert!(!is_french(choose(Some("en:fr"), Some("fr_FR.UTF-8"))));
        // … except under the C locale, as gettext.
        assert!(!is_french(choose(Some("fr"), Some("C.UTF-8"))));
        // A language we do not have: the locale, then English.
        assert!(is_french(choose(Some("de"), Some("fr_BE.UTF-8"))));
        assert!(!is_french(choose(Some("de"), Some("de_DE.UTF-8"))));
    }
}
